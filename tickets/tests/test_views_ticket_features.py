"""The ticket screen's files, message split and contact-merge undo (Django test client, PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tests.fixtures.files import PDF, PNG
from tickets.models import AgentProfile, Attachment, Contact, ContactMerge, Message, Ticket
from tickets.services.contacts import contact_merge
from tickets.services.messages import note_add
from tickets.services.outgoing_attachments import Upload
from tickets.services.tickets import ticket_update

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_tmp")]


def signed(client: Client, user: User) -> Client:
    AgentProfile.objects.filter(user=user).update(ui_language="en")
    client.force_login(user)
    return client


def flashes(response: Any) -> str:
    return " ".join(str(item) for item in response.context["messages"])


def test_composer_sends_files_and_the_timeline_links_them_safely(
    client: Client, alice: User, carla: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "mi serve l'etichetta")
    signed(client, alice)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'enctype="multipart/form-data"' in page and 'data-testid="composer-files"' in page

    response = client.post(
        f"/tickets/{ticket.pk}/reply/",
        {
            "text": "Eccola",
            "files": [
                SimpleUploadedFile("etichetta.pdf", PDF, content_type="application/pdf"),
                SimpleUploadedFile("foto.png", PNG, content_type="image/png"),
            ],
        },
        follow=True,
    )
    assert "Reply queued." in flashes(response)
    reply = Message.objects.get(direction=Message.Direction.OUTBOUND)
    pdf, png = reply.attachments.order_by("pk")
    page = response.content.decode()
    assert f'href="/attachments/{pdf.pk}/"' in page
    assert f'src="/attachments/{png.pk}/?preview=1"' in page
    assert "/media/" not in page

    download = client.get(f"/attachments/{pdf.pk}/")
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"] == "application/octet-stream"
    assert b"".join(download.streaming_content) == PDF
    preview = client.get(f"/attachments/{png.pk}/?preview=1")
    assert preview["Content-Type"] == "image/png" and "sandbox" in preview["Content-Security-Policy"]

    client.force_login(carla)
    assert client.get(f"/attachments/{pdf.pk}/").status_code == 404


def test_a_refused_file_is_explained_and_nothing_is_stored(
    client: Client, alice: User, api_channel: ChannelAccount, settings: Any
) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1024
    ticket = customer_writes(api_channel, "ciao")
    signed(client, alice)
    response = client.post(
        f"/tickets/{ticket.pk}/reply/",
        {
            "text": "in allegato",
            "mode": "note",
            "files": [SimpleUploadedFile("big.pdf", PDF + b"0" * 4000, content_type="application/pdf")],
        },
        follow=True,
    )
    assert "big.pdf is too large: at most 1 KB per file." in flashes(response)
    assert not Message.objects.filter(direction=Message.Direction.NOTE).exists()
    assert not Attachment.objects.exists()


def test_split_from_the_timeline(
    client: Client, alice: User, carla: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "pacco rotto", subject="Pacco")
    customer_writes(api_channel, "anche la fattura è sbagliata")
    note_add(ticket=ticket, author=alice, text="nota")
    second = ticket.messages.filter(direction="inbound").order_by("-sent_at", "-id").first()
    assert second is not None
    ticket.refresh_from_db()
    signed(client, alice)

    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    # Customer messages only: the note has no split button.
    assert page.count('data-testid="split-message"') == 2

    client.force_login(carla)
    assert client.post(f"/tickets/{ticket.pk}/messages/{second.pk}/split/").status_code == 404
    signed(client, alice)

    stale = client.post(
        f"/tickets/{ticket.pk}/messages/{second.pk}/split/", {"seq": ticket.seq - 1}, follow=True
    )
    assert "Someone else changed this ticket meanwhile" in flashes(stale)
    assert not Ticket.objects.filter(split_from=ticket).exists()

    done = client.post(f"/tickets/{ticket.pk}/messages/{second.pk}/split/", {"seq": ticket.seq}, follow=True)
    new = Ticket.objects.get(split_from=ticket)
    assert done.redirect_chain[-1][0] == f"/tickets/{new.pk}/"
    page = done.content.decode()
    assert f"Message split from #{ticket.pk} into this new ticket." in page
    assert f"Alice Rossi split this ticket off #{ticket.pk}" in page
    assert "anche la fattura è sbagliata" in page
    timeline = client.get(f"/tickets/{ticket.pk}/timeline/").content.decode()
    assert f"Alice Rossi split a message into the new ticket #{new.pk}" in timeline
    assert "anche la fattura è sbagliata" not in timeline and "pacco rotto" in timeline


def merged_pair(api_channel: ChannelAccount, actor: User) -> tuple[Ticket, Contact, ContactMerge]:
    kept = customer_writes(api_channel, "primo", sender="a", name="Anna Bianchi")
    other = customer_writes(api_channel, "secondo", sender="b", name="Anna B.")
    merge = contact_merge(source=other.contact, target=kept.contact, actor=actor)
    return kept, other.contact, merge


def test_sidebar_lists_merges_and_the_merging_agent_undoes(
    client: Client, alice: User, bob: User, api_channel: ChannelAccount
) -> None:
    ticket, source, merge = merged_pair(api_channel, alice)
    signed(client, bob)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="contact-merges"' in page and "merged from Anna B. on" in page
    assert "by Alice Rossi" in page
    # Bob neither merged nor supervises: the line, without the button; and the URL refuses him.
    assert 'data-testid="undo-contact-merge"' not in page
    refused = client.post(f"/tickets/{ticket.pk}/contact-merges/{merge.pk}/undo/", follow=True)
    assert "Only a supervisor, or the agent who merged" in flashes(refused)
    assert ContactMerge.objects.get(pk=merge.pk).undone_at is None

    signed(client, alice)
    assert 'data-testid="undo-contact-merge"' in client.get(f"/tickets/{ticket.pk}/").content.decode()
    done = client.post(f"/tickets/{ticket.pk}/contact-merges/{merge.pk}/undo/", follow=True)
    assert "Merge undone: Anna B. is a contact of their own again." in flashes(done)
    source.refresh_from_db()
    assert source.merged_into_id is None
    sidebar = client.get(f"/tickets/{ticket.pk}/sidebar/").content.decode()
    assert 'id="contact-sidebar"' in sidebar and 'data-testid="contact-merges"' not in sidebar
    assert "Alice Rossi undid the merge of contact" in done.content.decode()
    # Undone once: a second try is a merge this contact no longer lists.
    assert client.post(f"/tickets/{ticket.pk}/contact-merges/{merge.pk}/undo/").status_code == 404


def test_a_supervisor_undoes_anyone_s_merge_and_other_teams_get_404(
    client: Client, alice: User, sam: User, carla: User, api_channel: ChannelAccount
) -> None:
    ticket, _source, merge = merged_pair(api_channel, alice)
    client.force_login(carla)
    assert client.post(f"/tickets/{ticket.pk}/contact-merges/{merge.pk}/undo/").status_code == 404
    assert client.get(f"/tickets/{ticket.pk}/sidebar/").status_code == 404
    signed(client, sam)
    assert 'data-testid="undo-contact-merge"' in client.get(f"/tickets/{ticket.pk}/").content.decode()
    client.post(f"/tickets/{ticket.pk}/contact-merges/{merge.pk}/undo/")
    assert ContactMerge.objects.get(pk=merge.pk).undone_at is not None


def test_ticket_page_queries_do_not_grow_with_files_merges_or_splits(
    client: Client, alice: User, api_channel: ChannelAccount
) -> None:
    ticket, _source, _merge = merged_pair(api_channel, alice)
    signed(client, alice)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/tickets/{ticket.pk}/").status_code == 200
        return len(captured)

    few = queries()
    for n in range(4):
        other = customer_writes(api_channel, f"altro {n}", sender=f"x{n}", name=f"Altro {n}")
        contact_merge(source=other.contact, target=ticket.contact, actor=alice)
        note_add(ticket=ticket, author=alice, text="f", attachments=[Upload(f"{n}.png", "image/png", PNG)])
        ticket_update(ticket=ticket, actor=alice, priority=1 + n % 4)
    assert queries() == few
    # The basic page's 21 (test_views_ticket), plus the tags of the contact's other tickets listed here.
    assert few <= 22

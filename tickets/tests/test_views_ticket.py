from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tests.fixtures.http_peer import HttpPeer, Reply
from tests.fixtures.personas import make_api_channel
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import (
    AgentProfile,
    CannedResponse,
    Contact,
    MergeSuggestion,
    Message,
    Team,
    Ticket,
    TicketEvent,
)
from tickets.services.ingest import ingest_inbound_message
from tickets.services.messages import note_add
from tickets.services.tickets import ticket_update
from tickets.templatetags.workspace import sanitize_html, split_quoted
from tickets.views.timeline import placeholders_fill


@pytest.fixture
def signed_alice(client: Client, alice: User) -> Client:
    AgentProfile.objects.filter(user=alice).update(ui_language="en")
    client.force_login(alice)
    return client


@pytest.mark.django_db
def test_forbidden_ticket_is_not_found_everywhere(
    client: Client, carla: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "billing only")
    message = ticket.messages.get()
    client.force_login(carla)
    for url in (
        f"/tickets/{ticket.pk}/",
        f"/tickets/{ticket.pk}/timeline/",
        f"/tickets/{ticket.pk}/actions/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/tickets/{ticket.pk}/reply/", {"text": "hi", "mode": "note"}).status_code == 404
    assert client.post(f"/tickets/{ticket.pk}/action/", {"action": "assign_me"}).status_code == 404
    assert client.post(f"/tickets/{ticket.pk}/messages/{message.pk}/retry/").status_code == 404
    ticket.refresh_from_db()
    assert ticket.assignee_id is None and ticket.messages.count() == 1


@pytest.mark.django_db
def test_ticket_page_shows_timeline_sidebar_and_audit(
    signed_alice: Client, alice: User, api_channel: ChannelAccount
) -> None:
    earlier = customer_writes(api_channel, "first problem", subject="Old one")
    ticket_update(ticket=earlier, actor=alice, status=Ticket.Status.SOLVED)
    Ticket.objects.filter(pk=earlier.pk).update(solved_at="2000-01-01T00:00:00Z")
    ticket = customer_writes(api_channel, "Il pacco è arrivato rotto", email="maria@example.com")
    note_add(ticket=ticket, author=alice, text="check the courier")
    ticket_update(ticket=ticket, actor=alice, priority=Ticket.Priority.HIGH)

    page = signed_alice.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Il pacco è arrivato rotto" in page
    assert 'class="msg msg-note"' in page and "check the courier" in page
    assert "maria@example.com" in page
    assert f"#{earlier.pk} Old one" in page
    assert "Alice Rossi changed the priority from Normal to High" in page


@pytest.mark.django_db
def test_ticket_page_query_count_does_not_grow_with_messages(
    signed_alice: Client, alice: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "hello")
    note_add(ticket=ticket, author=alice, text="first note")
    ticket_update(ticket=ticket, actor=alice, priority=Ticket.Priority.HIGH)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert signed_alice.get(f"/tickets/{ticket.pk}/").status_code == 200
        return len(captured)

    few = queries()
    for n in range(8):
        customer_writes(api_channel, f"again {n}")
        note_add(ticket=ticket, author=alice, text=f"note {n}")
        ticket_update(ticket=ticket, actor=alice, priority=1 + n % 4)
        # The customer's earlier tickets, listed in the sidebar, cost no query each either.
        earlier = Ticket.objects.create(
            contact_id=ticket.contact_id,
            team_id=ticket.team_id,
            assignee=alice,
            origin_channel=api_channel,
            status=Ticket.Status.SOLVED,
            subject=f"Earlier {n}",
        )
        ticket_update(ticket=earlier, actor=alice, tags=[f"old{n}"])
    html = signed_alice.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f"#{earlier.pk} Earlier 7" in html
    assert queries() == few
    assert few <= 21


@pytest.mark.django_db
def test_note_is_added_and_never_sent(signed_alice: Client, alice: User, api_channel: ChannelAccount) -> None:
    ticket = customer_writes(api_channel, "hello")
    response = signed_alice.post(f"/tickets/{ticket.pk}/reply/", {"mode": "note", "text": "internal"})
    assert response.status_code == 302
    note = ticket.messages.get(direction=Message.Direction.NOTE)
    assert note.text == "internal" and note.author == alice and note.channel_account is None


@pytest.mark.django_db(transaction=True)
def test_reply_goes_out_and_failure_can_be_retried(
    client: Client, alice: User, billing: Team, http_peer: HttpPeer
) -> None:
    channel = make_api_channel(team=billing, callback_url=http_peer.url("/replies"))
    ticket = customer_writes(channel, "hello")
    client.force_login(alice)
    http_peer.script(
        "/replies", Reply(400, b'{"error": "unknown recipient"}'), then=Reply(200, b'{"id": "x1"}')
    )

    client.post(f"/tickets/{ticket.pk}/reply/", {"mode": "reply", "text": "Ciao!", "channel": channel.pk})
    reply = ticket.messages.get(direction=Message.Direction.OUTBOUND)
    assert reply.status == Message.Status.FAILED
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="retry"' in page

    client.post(f"/tickets/{ticket.pk}/messages/{reply.pk}/retry/")
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT
    assert len(http_peer.received("/replies")) == 2


@pytest.mark.django_db
def test_reply_on_a_channel_the_customer_never_used_is_refused(
    signed_alice: Client, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "hello")
    unused = make_api_channel(team=api_channel.default_team)
    response = signed_alice.post(
        f"/tickets/{ticket.pk}/reply/", {"mode": "reply", "text": "x", "channel": unused.pk}, follow=True
    )
    assert "has not written on that channel" in response.content.decode()
    assert not ticket.messages.filter(direction=Message.Direction.OUTBOUND).exists()


@pytest.mark.django_db
def test_actions_assign_status_priority_tags_team(
    signed_alice: Client, alice: User, bob: User, api_channel: ChannelAccount, tech: Team
) -> None:
    ticket = customer_writes(api_channel, "hello")
    url = f"/tickets/{ticket.pk}/action/"

    def act(**data: object) -> None:
        ticket.refresh_from_db()
        signed_alice.post(url, {"seq": ticket.seq, **data})

    act(action="assign_me")
    assert Ticket.objects.get(pk=ticket.pk).assignee == alice
    act(action="assign", assignee=bob.pk)
    assert Ticket.objects.get(pk=ticket.pk).assignee == bob
    act(action="status", status="pending")
    assert Ticket.objects.get(pk=ticket.pk).status == "pending"
    act(action="priority", priority=4)
    assert Ticket.objects.get(pk=ticket.pk).priority == 4
    act(action="tags", tags="VIP, refund ,")
    assert sorted(Ticket.objects.get(pk=ticket.pk).tags.values_list("name", flat=True)) == ["refund", "vip"]
    act(action="solve")
    assert Ticket.objects.get(pk=ticket.pk).status == "solved"
    types = list(TicketEvent.objects.filter(ticket=ticket).values_list("type", "actor_id"))
    assert ("ticket.assigned", alice.pk) in types and ("ticket.tags_changed", alice.pk) in types
    # Moving it to a team she is not in, unassigned, takes it out of her sight: back to the inbox.
    ticket.refresh_from_db()
    response = signed_alice.post(url, {"seq": ticket.seq, "action": "team", "team": tech.pk})
    assert Ticket.objects.get(pk=ticket.pk).team == tech
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_stale_action_loses_and_is_told(
    signed_alice: Client, alice: User, bob: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "hello")
    seen_seq = ticket.seq
    ticket_update(ticket=ticket, actor=bob, assignee=bob)  # Bob was faster

    response = signed_alice.post(
        f"/tickets/{ticket.pk}/action/", {"seq": seen_seq, "action": "assign_me"}, follow=True
    )
    assert Ticket.objects.get(pk=ticket.pk).assignee == bob
    assert "Someone else changed this ticket meanwhile" in response.content.decode()


@pytest.mark.django_db
def test_canned_responses_are_offered_with_placeholders_filled(
    signed_alice: Client, alice: User, api_channel: ChannelAccount, tech: Team
) -> None:
    CannedResponse.objects.create(
        title="Thanks",
        shortcut="thanks",
        body="Ciao {{ contact.first_name }}, sono {{agent.first_name}} (ticket {{ ticket.id }}) {{ other }}",
    )
    CannedResponse.objects.create(title="Tech only", shortcut="techonly", body="x", team=tech)
    ticket = customer_writes(api_channel, "hello", name="Maria Rossi")
    response = signed_alice.get(f"/tickets/{ticket.pk}/")
    canned = response.context["canned"]
    assert canned == [
        {
            "shortcut": "thanks",
            "title": "Thanks",
            "body": f"Ciao Maria, sono Alice (ticket {ticket.pk}) {{{{ other }}}}",
        }
    ]


def test_sanitizer_removes_every_way_to_run_code() -> None:
    dirty = (
        '<p onclick="x()">hi<script>window.__pwned=1</script>'
        '<img src="x" onerror="window.__pwned=1"><a href="javascript:window.__pwned=1">link</a>'
        '<style>body{}</style><iframe src="https://evil"></iframe><svg onload="x()"></svg></p>'
    )
    clean = sanitize_html(dirty)
    for needle in ("script", "onerror", "onclick", "javascript:", "iframe", "style", "svg", "onload"):
        assert needle not in clean.lower()
    assert "<img>" in clean and "link" in clean  # the relative src="x" is gone


def test_rendering_shows_no_remote_or_relative_image() -> None:
    """Rows stored before the inbound policy, or by another path, meet the same policy when shown."""
    dirty = '<img src="/logout/"><img src="https://tracker.example/o.gif"><img src="cid:a@b">'
    assert sanitize_html(dirty) == '<img><img><img src="cid:a@b">'


def test_quoted_history_is_split_off() -> None:
    text = "Grazie!\n\nOn Mon, 3 Mar 2026 Sportello wrote:\n> your order\n> shipped"
    assert split_quoted(text) == ("Grazie!", "On Mon, 3 Mar 2026 Sportello wrote:\n> your order\n> shipped")
    assert split_quoted("no quote here") == ("no quote here", "")


@pytest.mark.django_db
def test_placeholders_leave_unknown_ones_alone(alice: User, api_channel: ChannelAccount) -> None:
    ticket = customer_writes(api_channel, "x", name="")
    assert placeholders_fill("{{ contact.first_name }}|{{ ticket.secret }}", ticket=ticket, agent=alice) == (
        "|{{ ticket.secret }}"
    )


@pytest.mark.django_db
def test_attachments_are_listed_and_only_raster_images_previewed(
    signed_alice: Client,
    api_channel: ChannelAccount,
    settings,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    from django.core.files.base import ContentFile

    from tickets.models import Attachment

    settings.MEDIA_ROOT = str(tmp_path)
    ticket = customer_writes(api_channel, "see attached")
    message = ticket.messages.get()
    for name, kind in (("photo.png", "image/png"), ("logo.svg", "image/svg+xml")):
        attachment = Attachment(message=message, filename=name, content_type=kind, size=3, sha256=name * 2)
        attachment.file.save(name, ContentFile(b"abc"), save=True)

    page = signed_alice.get(f"/tickets/{ticket.pk}/").content.decode()
    assert page.count('class="preview"') == 1
    assert 'alt="photo.png"' in page and "logo.svg</a>" in page


@pytest.mark.django_db
def test_agent_cannot_assign_outside_the_team(
    signed_alice: Client, alice: User, carla: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "hello")
    response = signed_alice.post(
        f"/tickets/{ticket.pk}/action/",
        {"seq": ticket.seq, "action": "assign", "assignee": carla.pk},
        follow=True,
    )
    assert Ticket.objects.get(pk=ticket.pk).assignee is None
    assert "only to themselves or a member of its team" in response.content.decode()


@pytest.mark.django_db
def test_merge_ticket_into_another_visible_one_only(
    signed_alice: Client, alice: User, api_channel: ChannelAccount, tech: Team
) -> None:
    target = customer_writes(api_channel, "first", sender="a")
    source = customer_writes(api_channel, "second", sender="b")
    hidden = customer_writes(make_api_channel(team=tech), "tech", sender="c")

    response = signed_alice.post(f"/tickets/{source.pk}/merge/", {"target": hidden.pk}, follow=True)
    assert f"No ticket #{hidden.pk} among the ones you can see." in response.content.decode()
    assert Ticket.objects.get(pk=source.pk).merged_into_id is None

    response = signed_alice.post(f"/tickets/{source.pk}/merge/", {"target": target.pk})
    assert response["Location"] == f"/tickets/{target.pk}/"
    source.refresh_from_db()
    assert source.merged_into_id == target.pk and source.status == Ticket.Status.CLOSED
    page = signed_alice.get(f"/tickets/{target.pk}/").content.decode()
    assert "second" in page  # the merged ticket's messages join the target's timeline
    assert f"Alice Rossi merged ticket #{source.pk} into this one" in page

    assert 'data-testid="merged-banner"' in signed_alice.get(f"/tickets/{source.pk}/").content.decode()
    signed_alice.post(f"/tickets/{source.pk}/unmerge/")
    source.refresh_from_db()
    assert source.merged_into_id is None
    page = signed_alice.get(f"/tickets/{source.pk}/").content.decode()
    assert f"Alice Rossi took this ticket back out of #{target.pk}" in page
    assert 'data-testid="merged-banner"' not in page
    # The timeline alone: the page's other words (the SLA countdown's, "first response") may hold it.
    timeline = signed_alice.get(f"/tickets/{source.pk}/timeline/").content.decode()
    assert "second" in timeline and "first" not in timeline


@pytest.mark.django_db
def test_merge_a_suggested_duplicate_contact(
    signed_alice: Client, alice: User, api_channel: ChannelAccount
) -> None:
    untrusted = make_api_channel(team=api_channel.default_team)
    mine = customer_writes(api_channel, "from the app", sender="a", email="anna@example.com")
    # The same address, unverified, from another channel: a suggestion, not an automatic merge.
    other = ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=untrusted.pk,
            external_id="dup-1",
            sender=IdentityClaim(IdentityKind.API, f"{untrusted.pk}:x", verified=True),
            sender_name="Anna",
            other_identities=[IdentityClaim(IdentityKind.EMAIL, "anna@example.com", verified=False)],
            text="from the site",
        )
    ).ticket
    suggestion = MergeSuggestion.objects.get()
    shown_on = mine if suggestion.contact_id == mine.contact_id else other
    page = signed_alice.get(f"/tickets/{shown_on.pk}/").content.decode()
    assert 'data-testid="merge-suggestions"' in page

    signed_alice.post(f"/tickets/{shown_on.pk}/merge-contact/{suggestion.pk}/")
    duplicate = Contact.objects.get(pk=suggestion.candidate_id)
    assert duplicate.merged_into_id == shown_on.contact_id
    assert Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES, contact_id=shown_on.contact_id).count() == 1


def test_quoted_html_is_folded_and_stays_inert() -> None:
    from types import SimpleNamespace

    from tickets.templatetags.workspace import message_body

    message = SimpleNamespace(
        html="<p>Grazie</p><blockquote onmouseover='x()'>old <script>bad()</script>mail</blockquote>",
        text="",
        full_text="",
    )
    html = str(message_body(message))
    assert '<details class="quoted"><summary>…</summary><blockquote>old mail</blockquote></details>' in html
    assert "script" not in html and "onmouseover" not in html

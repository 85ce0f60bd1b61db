"""The IMAP poller against a real Dovecot started for each test."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from channels_in.email.imap import mailbox_idle, mailbox_poll
from channels_in.email.tests.conftest import make_mailbox
from channels_in.email.tests.mails import mail
from channels_in.models import ChannelAccount, InboundEvent, MailboxCursor
from tests.fixtures.http_peer import free_port
from tests.fixtures.mailservers import ImapServer
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

USER, PASSWORD = "support@example.com", "imap-secret"


@pytest.fixture
def imap(imap_server: ImapServer) -> ImapServer:
    imap_server.add_user(USER, PASSWORD)
    return imap_server


def imap_mailbox(server: ImapServer, **imap: Any) -> ChannelAccount:
    return make_mailbox(
        imap={
            "host": server.host,
            "port": server.port,
            "security": "none",
            "username": USER,
            "password": PASSWORD,
            "timeout": 10,
            **imap,
        }
    )


def test_poll_files_new_mail_once_and_flags_it_seen(imap: ImapServer) -> None:
    account = imap_mailbox(imap)
    imap.deliver(USER, PASSWORD, mail(subject="Primo"))
    imap.deliver(USER, PASSWORD, mail(sender="luca@example.org", subject="Secondo"))

    first = mailbox_poll(account_id=account.pk)
    again = mailbox_poll(account_id=account.pk)

    assert (first.status, first.recorded) == ("ok", 2)
    assert (again.status, again.recorded, again.duplicates) == ("ok", 0, 0)
    assert InboundEvent.objects.filter(state=InboundEvent.State.DONE).count() == 2
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Primo", "Secondo"]
    assert [flags for _, flags in imap.messages(USER, PASSWORD)] == ["\\Seen", "\\Seen"]
    cursor = MailboxCursor.objects.get(channel_account=account)
    assert cursor.last_uid == 2 and cursor.uidvalidity
    account.refresh_from_db()
    assert account.health["imap"]["status"] == "ok"


def test_handled_mail_moves_to_the_processed_folder(imap: ImapServer) -> None:
    account = imap_mailbox(imap, processed_folder="Processed")
    imap.deliver(USER, PASSWORD, mail())

    assert mailbox_poll(account_id=account.pk).recorded == 1

    assert imap.messages(USER, PASSWORD, "INBOX") == []
    assert len(imap.messages(USER, PASSWORD, "Processed")) == 1


def test_a_poller_that_died_before_advancing_the_cursor_files_nothing_twice(imap: ImapServer) -> None:
    account = imap_mailbox(imap)
    imap.deliver(USER, PASSWORD, mail())
    mailbox_poll(account_id=account.pk)
    MailboxCursor.objects.filter(channel_account=account).update(last_uid=0)

    result = mailbox_poll(account_id=account.pk)

    assert (result.recorded, result.duplicates) == (0, 1)
    assert InboundEvent.objects.count() == 1
    assert Message.objects.count() == 1


def test_changed_uidvalidity_reads_the_folder_again_without_duplicates(imap: ImapServer) -> None:
    account = imap_mailbox(imap)
    imap.deliver(USER, PASSWORD, mail())
    mailbox_poll(account_id=account.pk)
    MailboxCursor.objects.filter(channel_account=account).update(uidvalidity=1)
    imap.deliver(USER, PASSWORD, mail(subject="dopo"))

    result = mailbox_poll(account_id=account.pk)

    assert (result.recorded, result.duplicates) == (1, 1)
    assert Message.objects.count() == 2
    assert MailboxCursor.objects.get(channel_account=account).uidvalidity != 1


def test_oversized_and_broken_mail_never_stop_the_poller(imap: ImapServer, settings: Any) -> None:
    settings.INBOUND_MAX_BYTES = 4096
    account = imap_mailbox(imap)
    imap.deliver(USER, PASSWORD, mail(attachments=[("big.bin", "application/octet-stream", b"x" * 10_000)]))
    imap.deliver(USER, PASSWORD, b"Subject: no sender at all\r\nMessage-ID: <anon@x>\r\n\r\n???\r\n")
    imap.deliver(USER, PASSWORD, mail(subject="Valida"))

    result = mailbox_poll(account_id=account.pk)

    assert (result.status, result.recorded, result.rejected) == ("ok", 2, 1)
    rejected = InboundEvent.objects.get(content_type="text/rfc822-headers")
    assert rejected.state == InboundEvent.State.FAILED
    assert "limit is 4096" in rejected.error
    assert b"Subject:" in bytes(rejected.body)
    failed = InboundEvent.objects.get(provider_event_id="mail:anon@x")
    assert "no sender address" in failed.error
    assert Ticket.objects.get().subject == "Valida"
    assert all(flags == "\\Seen" for _, flags in imap.messages(USER, PASSWORD))


def test_unreachable_server_backs_off_and_shows_on_health(db: None) -> None:
    account = make_mailbox(
        imap={"host": "127.0.0.1", "port": free_port(), "security": "none", "username": "u", "password": "p"}
    )

    first = mailbox_poll(account_id=account.pk)
    second = mailbox_poll(account_id=account.pk)

    assert first.status == "error"
    assert second.status == "skipped" and "backing off" in second.error
    account.refresh_from_db()
    health = account.health["imap"]
    assert health["status"] == "error"
    assert health["failures"] == 1
    assert "ConnectionRefusedError" in health["last_error"]
    assert "next_attempt_at" in health
    assert mailbox_poll(account_id=account.pk, force=True).status == "error"
    account.refresh_from_db()
    assert account.health["imap"]["failures"] == 2


def test_wrong_password_is_an_error_without_the_password(imap: ImapServer) -> None:
    account = imap_mailbox(imap, password="not-the-password")

    result = mailbox_poll(account_id=account.pk)

    assert result.status == "error"
    account.refresh_from_db()
    assert "not-the-password" not in str(account.health)
    assert "AUTHENTICATIONFAILED" in account.health["imap"]["last_error"] or "failed" in result.error.lower()


def test_recovery_clears_the_error(imap: ImapServer) -> None:
    account = imap_mailbox(imap, password="wrong")
    mailbox_poll(account_id=account.pk)
    account.config["imap"]["password"] = PASSWORD
    account.save(update_fields=["config"])

    assert mailbox_poll(account_id=account.pk, force=True).status == "ok"
    account.refresh_from_db()
    assert account.health["imap"]["status"] == "ok"
    assert account.health["imap"]["failures"] == 0


def test_password_from_a_secret_file(imap: ImapServer, tmp_path: Any) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text(PASSWORD + "\n")
    account = imap_mailbox(imap, password="", password_file=str(secret))
    imap.deliver(USER, PASSWORD, mail())

    assert mailbox_poll(account_id=account.pk).recorded == 1


def test_idle_wakes_up_when_mail_arrives(imap: ImapServer) -> None:
    account = imap_mailbox(imap)
    mailbox_poll(account_id=account.pk)
    later = threading.Timer(1.0, imap.deliver, args=(USER, PASSWORD, mail(subject="In tempo reale")))
    later.start()
    started = time.monotonic()
    try:
        result = mailbox_idle(account_id=account.pk, timeout=20)
    finally:
        later.cancel()

    assert result.recorded == 1
    assert time.monotonic() - started < 10
    assert Ticket.objects.get().subject == "In tempo reale"


def test_idle_command_files_waiting_mail(imap: ImapServer) -> None:
    from django.core.management import call_command

    imap_mailbox(imap)
    imap.deliver(USER, PASSWORD, mail(subject="Dal comando"))

    call_command("email_idle", "--once", "--timeout", "5")

    assert Ticket.objects.get().subject == "Dal comando"


def test_beat_task_polls_every_imap_mailbox(imap: ImapServer) -> None:
    from channels_in.email.tasks import poll_mailboxes

    imap_mailbox(imap)
    make_mailbox(key="pipe-only")  # mail arrives by HTTP only: nothing to poll
    imap.deliver(USER, PASSWORD, mail(subject="Dal beat"))

    assert poll_mailboxes() == 1

    assert Ticket.objects.get().subject == "Dal beat"

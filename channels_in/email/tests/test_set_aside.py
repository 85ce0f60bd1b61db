"""Every mail that is not filed says why, on its event, where an administrator looks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from channels_in.email.intake import mail_record
from channels_in.email.tests.mails import corpus, delivery_report, mail
from channels_in.inbound import inbound_event_process, inbound_events_process_batch
from channels_in.models import ChannelAccount, InboundEvent
from tickets.models import Message

pytestmark = pytest.mark.django_db


def _bounce_from_the_null_sender() -> bytes:
    # Return-Path <> and a From the MTA wrote: a report about a mail that is none of ours.
    return b"Return-Path: <>\r\n" + delivery_report(
        recipient="nobody@example.org", original_message_id="never-sent@example.com"
    )


SET_ASIDE: dict[str, tuple[Callable[[], bytes], str]] = {
    "bounce without a From": (lambda: corpus("chatwoot/bounced_with_no_from.eml"), "bounce_unmatched"),
    "bounce from the null sender": (_bounce_from_the_null_sender, "bounce_unmatched"),
    "our own mail": (lambda: mail(sender="Support <support+abc123abc1@example.com>"), "own_mail"),
}


def _record(account: ChannelAccount, raw: bytes) -> InboundEvent:
    return mail_record(account=account, raw=raw, source="test").event


@pytest.mark.parametrize("case", sorted(SET_ASIDE))
def test_a_mail_set_aside_records_why(mailbox: ChannelAccount, case: str) -> None:
    raw, code = SET_ASIDE[case]
    event = _record(mailbox, raw())

    inbound_event_process(event_id=event.pk)

    event.refresh_from_db()
    assert event.state == InboundEvent.State.IGNORED
    assert event.error.startswith(f"{code}: ")
    assert len(event.error) > len(code) + 10
    assert event.result["reason"] == code
    assert not Message.objects.filter(direction=Message.Direction.INBOUND).exists()


def test_a_batch_records_why_each_mail_was_set_aside(mailbox: ChannelAccount) -> None:
    events = {case: _record(mailbox, raw()) for case, (raw, _code) in SET_ASIDE.items()}
    filed = _record(mailbox, mail())

    inbound_events_process_batch(limit=10)

    for case, event in events.items():
        event.refresh_from_db()
        assert event.state == InboundEvent.State.IGNORED, case
        assert event.error.startswith(SET_ASIDE[case][1] + ": "), case
    filed.refresh_from_db()
    assert (filed.state, filed.error) == (InboundEvent.State.DONE, "")


def test_the_admin_list_shows_why_an_event_was_set_aside(mailbox: ChannelAccount, settings: Any) -> None:
    event = _record(mailbox, _bounce_from_the_null_sender())
    inbound_event_process(event_id=event.pk)
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@sportello.test", "password"))

    page = client.get("/admin/channels_in/inboundevent/?state__exact=ignored")

    assert page.status_code == 200
    assert "bounce_unmatched" in page.content.decode()

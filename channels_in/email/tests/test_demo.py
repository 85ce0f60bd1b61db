from __future__ import annotations

import pytest

from channels_in.demo import demo_seed
from channels_in.email.demo import MAILBOX_KEY, seed_email_demo
from channels_in.models import ChannelAccount, InboundEvent
from tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db


def _counts(account: ChannelAccount) -> tuple[int, int, int]:
    return (
        InboundEvent.objects.filter(channel_account=account).count(),
        Message.objects.filter(channel_account=account).count(),
        Ticket.objects.filter(origin_channel=account).count(),
    )


def test_demo_shows_email_as_agents_will_and_is_idempotent() -> None:
    demo_seed()
    account = ChannelAccount.objects.get(key=MAILBOX_KEY)
    first = _counts(account)

    seed_email_demo()

    assert _counts(account) == first
    assert (
        InboundEvent.objects.filter(channel_account=account).exclude(state=InboundEvent.State.DONE).count()
        == 0
    )
    chiara = Ticket.objects.get(contact__identities__value="chiara.esposito@example.it")
    timeline = list(chiara.messages.order_by("id").values_list("direction", flat=True))
    assert timeline == ["inbound", "outbound", "inbound"]
    answer = chiara.messages.order_by("id").last()
    assert answer.text.startswith("Ho fatto il reset")
    assert "tenga premuto" not in answer.text and "tenga premuto" in answer.full_text
    assert Attachment.objects.filter(message__channel_account=account).exists()
    assert Message.objects.filter(channel_account=account).exclude(html="").exists()

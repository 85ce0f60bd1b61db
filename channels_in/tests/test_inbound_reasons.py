"""The database keeps every event that was not filed with its reason: none can end up silent."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from channels_in.models import ChannelAccount, InboundEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("state", [InboundEvent.State.IGNORED, InboundEvent.State.FAILED])
def test_an_event_not_filed_cannot_be_stored_without_why(api_channel: ChannelAccount, state: str) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundEvent.objects.create(channel_account=api_channel, body=b"{}", state=state, error="")

    InboundEvent.objects.create(channel_account=api_channel, body=b"{}", state=state, error="why: because")


@pytest.mark.parametrize("state", [InboundEvent.State.PENDING, InboundEvent.State.DONE])
def test_pending_and_filed_events_need_no_reason(api_channel: ChannelAccount, state: str) -> None:
    InboundEvent.objects.create(channel_account=api_channel, body=b"{}", state=state, error="")

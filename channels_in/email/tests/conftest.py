from __future__ import annotations

from typing import Any

import pytest

from channels_in.models import ChannelAccount
from tickets.models import Team


def make_mailbox(*, team: Team | None = None, key: str = "support", **config: Any) -> ChannelAccount:
    return ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.EMAIL,
        name=f"Mailbox {key}",
        key=key,
        default_team=team,
        config={
            "address": "support@example.com",
            "from_name": "Sportello Support",
            "plus_addressing": True,
            "inbound_token": "pipe-token",
            **config,
        },
    )


@pytest.fixture
def mailbox(billing: Team) -> ChannelAccount:
    return make_mailbox(team=billing)


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Any) -> None:
    # Attachments of test mails go to the test's own folder, not the installation's media.
    settings.MEDIA_ROOT = str(tmp_path / "media")

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from channels_in.models import ChannelAccount
from tickets.models import Team

SHOP = "https://shop.example.com"
_numbers = itertools.count(1)


def make_webchat_channel(*, team: Team | None = None, **config: Any) -> ChannelAccount:
    number = next(_numbers)
    return ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.WEBCHAT,
        name=f"Chat {number}",
        key=f"chat-{number}",
        default_team=team,
        config={"allowed_origins": [SHOP], "secret": f"widget-secret-{number}", **config},
    )


@pytest.fixture
def webchat(billing: Team) -> ChannelAccount:
    return make_webchat_channel(team=billing)


@pytest.fixture(autouse=True)
def _fresh_budgets() -> None:
    # Budgets live in the cache: one test's flood must not spend the next one's.
    cache.clear()


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT

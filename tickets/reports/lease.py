"""The rollup's single state row and the lease that lets one fold or rebuild run at a time."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from tickets.models import ReportRollupState

STATE_ID = 1


def state_get() -> ReportRollupState:
    try:
        return ReportRollupState.objects.get_or_create(pk=STATE_ID)[0]
    except IntegrityError:
        return ReportRollupState.objects.get(pk=STATE_ID)


def lease_take(*, seconds: float, wait_seconds: float = 0.0) -> str | None:
    """Take the right to fold for ``seconds`` (a conditional update: one taker wins); None if taken."""
    state_get()
    owner = secrets.token_hex(8)
    deadline = time.monotonic() + wait_seconds
    while True:
        now = timezone.now()
        taken = (
            ReportRollupState.objects.filter(pk=STATE_ID)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
            .update(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
        )
        if taken:
            return owner
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.5)


def lease_renew(owner: str, *, seconds: float) -> None:
    ReportRollupState.objects.filter(pk=STATE_ID, lease_owner=owner).update(
        lease_until=timezone.now() + timedelta(seconds=seconds)
    )


def lease_release(owner: str) -> None:
    ReportRollupState.objects.filter(pk=STATE_ID, lease_owner=owner).update(lease_owner="", lease_until=None)

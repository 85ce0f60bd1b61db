"""Canned responses: the answers agents insert with ``/shortcut``; supervisors and admins maintain them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from tickets.models import CannedResponse, Team

_EDITABLE = ("title", "shortcut", "body", "team")


def canned_response_create(
    *, title: str, shortcut: str, body: str, team: Team | None, actor: User | None
) -> CannedResponse:
    # The body is stored as written: placeholders are filled when an agent uses it, not here.
    return CannedResponse.objects.create(
        title=title, shortcut=shortcut, body=body, team=team, created_by=actor
    )


def canned_response_update(*, response: CannedResponse, **changes: Any) -> CannedResponse:
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        for field, value in changes.items():
            setattr(response, field, value)
        if changes:
            response.save(update_fields=list(changes))
    return response


def canned_response_delete(*, response: CannedResponse) -> None:
    response.delete()

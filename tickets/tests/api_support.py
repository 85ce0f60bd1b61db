"""What the API tests share: customers writing in through the real ingest path, and signed-in clients."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from channels_in.models import ChannelAccount
from tickets.inbound import IdentityClaim, IdentityKind, InboundMessage
from tickets.models import Ticket
from tickets.services.ingest import IngestResult, ingest_inbound_message

_message_ids = itertools.count(1)


def customer_writes(
    account: ChannelAccount,
    *,
    sender: str = "cust-1",
    name: str = "Maria Rossi",
    text: str = "Ciao",
    subject: str = "",
    email: str = "",
    email_verified: bool = True,
) -> IngestResult:
    """A customer message filed exactly as a channel would file it."""
    others = [IdentityClaim(IdentityKind.EMAIL, email, verified=email_verified)] if email else []
    return ingest_inbound_message(
        inbound=InboundMessage(
            channel_account_id=account.pk,
            external_id=f"msg-{next(_message_ids)}",
            sender=IdentityClaim(IdentityKind.API, f"{account.pk}:{sender}", verified=True),
            sender_name=name,
            other_identities=others,
            text=text,
            subject=subject,
        )
    )


def new_ticket(account: ChannelAccount, **kwargs: Any) -> Ticket:
    kwargs.setdefault("sender", f"customer-{next(_message_ids)}")
    return customer_writes(account, **kwargs).ticket


def client_for(user: User | None) -> APIClient:
    """A client authenticated the way integrations are: with the user's API token."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def ids(response: Any) -> list[int]:
    return [row["id"] for row in response.json()["results"]]

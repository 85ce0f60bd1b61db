"""Visitor tokens and host-site identity verification.

A visitor token is signed (``django.core.signing``, salted per channel) and stateless: it says which
visitor of which channel, embedded on which host origin, holds it, and what the visitor told us (name,
unverified email) or the host site proved (a user id and email signed with the channel's secret). The
widget keeps it in its own storage; the server never trusts any identity that is not in it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, replace

from django.conf import settings
from django.core import signing

from channels_in.email.addresses import email_address_valid
from channels_in.models import ChannelAccount

# A token is renewed on every connection, so this is how long a visitor may stay away.
TOKEN_MAX_AGE_SECONDS = 30 * 24 * 3600


class TokenInvalid(Exception):
    """Tampered, expired, or made for another channel."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IdentityInvalid(Exception):
    pass


@dataclass(frozen=True)
class Visitor:
    visitor_id: str
    account_id: int
    origin: str
    name: str = ""
    email: str = ""
    user_id: str = ""
    verified_email: str = ""

    @property
    def verified(self) -> bool:
        return bool(self.user_id or self.verified_email)


def _salt(account: ChannelAccount) -> str:
    return f"sportello.webchat.visitor.{account.key}"


def anonymous_visitor_id() -> str:
    return "v-" + secrets.token_hex(16)


def verified_visitor_id(account: ChannelAccount, *, user_id: str, email: str) -> str:
    """The same id on every device for the same host-site user, unguessable without our secret."""
    subject = f"user:{user_id}" if user_id else f"email:{email.lower()}"
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"webchat:{account.pk}:{subject}".encode(), hashlib.sha256
    ).hexdigest()
    return "u-" + digest[:40]


def visitor_token_issue(account: ChannelAccount, visitor: Visitor) -> str:
    data = {key: value for key, value in asdict(visitor).items() if value}
    return signing.dumps(data, salt=_salt(account), compress=True)


def visitor_token_read(account: ChannelAccount, token: str) -> Visitor:
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise TokenInvalid("token_missing")
    try:
        data = signing.loads(token, salt=_salt(account), max_age=TOKEN_MAX_AGE_SECONDS)
    except signing.SignatureExpired as exc:
        raise TokenInvalid("token_expired") from exc
    except signing.BadSignature as exc:
        raise TokenInvalid("token_invalid") from exc
    if not isinstance(data, dict) or data.get("account_id") != account.pk:
        raise TokenInvalid("token_invalid")
    try:
        return Visitor(**data)
    except TypeError as exc:
        raise TokenInvalid("token_invalid") from exc


def identity_hash(secret: str, *, user_id: str, email: str) -> str:
    """What the host site computes on its server: hex HMAC-SHA256 of ``user_id + "\\n" + email``."""
    return hmac.new(secret.encode(), f"{user_id}\n{email}".encode(), hashlib.sha256).hexdigest()


def visitor_identify(
    account: ChannelAccount, visitor: Visitor, *, secret: str, user_id: str, email: str, user_hash: str
) -> Visitor:
    """The visitor as the host site vouches for it, or ``IdentityInvalid``: nothing half-trusted."""
    user_id, email = user_id.strip(), email.strip().lower()
    if not secret:
        raise IdentityInvalid("this channel does not accept verified identities")
    if not (user_id or email) or "\n" in user_id or len(user_id) > 200 or len(email) > 320:
        raise IdentityInvalid("give a user_id or an email")
    if email and not email_address_valid(email):
        # Signed or not, it would become a verified email identity that no reply can reach.
        raise IdentityInvalid("the email is not an address")
    expected = identity_hash(secret, user_id=user_id, email=email)
    if not hmac.compare_digest(expected, (user_hash or "").strip().lower()):
        raise IdentityInvalid("the identity hash does not match")
    return replace(
        visitor,
        visitor_id=verified_visitor_id(account, user_id=user_id, email=email),
        user_id=user_id,
        verified_email=email,
        email=email or visitor.email,
    )

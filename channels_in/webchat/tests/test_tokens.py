from __future__ import annotations

import time

import pytest

from channels_in.models import ChannelAccount
from channels_in.webchat import tokens
from channels_in.webchat.tests.conftest import SHOP, make_webchat_channel
from channels_in.webchat.tokens import (
    IdentityInvalid,
    TokenInvalid,
    Visitor,
    identity_hash,
    visitor_identify,
    visitor_token_issue,
    visitor_token_read,
)


def _visitor(account: ChannelAccount, **fields: str) -> Visitor:
    return Visitor(tokens.anonymous_visitor_id(), account.pk, SHOP, **fields)


@pytest.mark.django_db
def test_a_token_reads_back_as_the_visitor_it_was_issued_for(webchat: ChannelAccount) -> None:
    visitor = _visitor(webchat, name="Maria", email="maria@example.com")

    assert visitor_token_read(webchat, visitor_token_issue(webchat, visitor)) == visitor
    assert not visitor.verified


@pytest.mark.django_db
def test_a_tampered_token_is_refused(webchat: ChannelAccount) -> None:
    token = visitor_token_issue(webchat, _visitor(webchat))
    body, _, signature = token.rpartition(":")
    tampered = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + ":" + signature

    with pytest.raises(TokenInvalid) as refused:
        visitor_token_read(webchat, tampered)
    assert refused.value.reason == "token_invalid"


@pytest.mark.django_db
def test_a_token_of_another_channel_is_refused(webchat: ChannelAccount) -> None:
    other = make_webchat_channel()
    token = visitor_token_issue(other, _visitor(other))

    with pytest.raises(TokenInvalid):
        visitor_token_read(webchat, token)


@pytest.mark.django_db
def test_an_expired_token_is_refused_as_expired(webchat: ChannelAccount, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    token = visitor_token_issue(webchat, _visitor(webchat))
    later = time.time() + tokens.TOKEN_MAX_AGE_SECONDS + 60
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)

    with pytest.raises(TokenInvalid) as refused:
        visitor_token_read(webchat, token)
    assert refused.value.reason == "token_expired"


@pytest.mark.parametrize("token", ["", "garbage", "x" * 5000, None, 42])
@pytest.mark.django_db
def test_junk_is_not_a_token(webchat: ChannelAccount, token: object) -> None:
    with pytest.raises(TokenInvalid):
        visitor_token_read(webchat, token)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_a_signed_identity_gives_the_same_visitor_on_every_device(webchat: ChannelAccount) -> None:
    secret = webchat.config["secret"]
    good = identity_hash(secret, user_id="u-77", email="maria@example.com")

    phone = visitor_identify(
        webchat, _visitor(webchat), secret=secret, user_id="u-77", email="Maria@Example.com", user_hash=good
    )
    laptop = visitor_identify(
        webchat, _visitor(webchat), secret=secret, user_id="u-77", email="maria@example.com", user_hash=good
    )

    assert phone.visitor_id == laptop.visitor_id
    assert phone.visitor_id.startswith("u-")
    assert phone.verified and phone.verified_email == "maria@example.com"


@pytest.mark.parametrize(
    ("user_id", "email", "signed_user_id", "signed_email"),
    [
        ("u-77", "maria@example.com", "u-78", "maria@example.com"),  # another user's hash
        ("u-77", "boss@example.com", "u-77", "maria@example.com"),  # email swapped after signing
        ("", "", "", ""),  # nothing to verify
    ],
)
@pytest.mark.django_db
def test_an_identity_that_does_not_match_its_hash_is_refused(
    webchat: ChannelAccount, user_id: str, email: str, signed_user_id: str, signed_email: str
) -> None:
    secret = webchat.config["secret"]
    presented = identity_hash(secret, user_id=signed_user_id, email=signed_email)

    with pytest.raises(IdentityInvalid):
        visitor_identify(
            webchat, _visitor(webchat), secret=secret, user_id=user_id, email=email, user_hash=presented
        )


@pytest.mark.django_db
def test_a_channel_without_a_secret_verifies_nobody(webchat: ChannelAccount) -> None:
    with pytest.raises(IdentityInvalid):
        visitor_identify(
            webchat,
            _visitor(webchat),
            secret="",
            user_id="u-1",
            email="",
            user_hash=identity_hash("", user_id="u-1", email=""),
        )

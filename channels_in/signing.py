"""Shared request authentication for webhooks: bearer tokens and HMAC-SHA256 body signatures."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Sportello-Signature"


def body_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, presented: str) -> bool:
    if not secret or not presented:
        return False
    return hmac.compare_digest(body_signature(secret, body), presented.strip())


def bearer_valid(expected: str, authorization: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    if not expected or scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(expected.encode(), token.strip().encode())

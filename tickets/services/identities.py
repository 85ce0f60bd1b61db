"""Contact resolution: which customer wrote, race-safe, merging only on verified identities."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db.models import Q
from django.utils import timezone

from tickets.inbound import IdentityClaim, IdentityKind
from tickets.models import Contact, ContactIdentity, MergeSuggestion

_PHONE_JUNK = re.compile(r"[\s().\-/]")
# ``last_seen_at`` is shown to agents to the minute: refreshing it on every message of a busy
# conversation would add a write per message for nothing anyone can see.
LAST_SEEN_GRANULARITY = timedelta(minutes=1)


def last_seen_due(last_seen_at: datetime | None, now: datetime) -> bool:
    """Whether a sender's ``last_seen_at`` is worth writing again (both filing strategies ask this)."""
    return last_seen_at is None or now - last_seen_at >= LAST_SEEN_GRANULARITY


def contact_row(*, name: str) -> Contact:
    """The unsaved contact a brand-new customer becomes."""
    return Contact(name=name[:200])


def identity_row(*, contact: Contact, claim: IdentityClaim, seen_at: datetime | None) -> ContactIdentity:
    """The unsaved identity a claim becomes; ``seen_at`` for the sender's, None for the others it names."""
    return ContactIdentity(
        contact=contact, kind=claim.kind, value=claim.value, verified=claim.verified, last_seen_at=seen_at
    )


class ResolvedContact(NamedTuple):
    contact: Contact
    identity: ContactIdentity
    # True when this transaction created the contact: no other writer can see it before commit.
    created: bool


def normalize_identity(kind: str, value: str) -> str:
    """The canonical form stored in ``ContactIdentity.value``: emails lower-cased, phones E.164-like."""
    value = value.strip()
    if kind == IdentityKind.EMAIL:
        return value.lower()
    if kind in {IdentityKind.PHONE, IdentityKind.WHATSAPP}:
        digits = _PHONE_JUNK.sub("", value)
        if digits.startswith("00"):
            digits = "+" + digits[2:]
        return digits if digits.startswith("+") or kind == IdentityKind.WHATSAPP else "+" + digits
    return value


def normalized_claims(claims: list[IdentityClaim]) -> list[IdentityClaim]:
    seen: dict[tuple[str, str], IdentityClaim] = {}
    for claim in claims:
        value = normalize_identity(claim.kind, claim.value)
        if not value:
            continue
        key = (claim.kind, value)
        previous = seen.get(key)
        seen[key] = IdentityClaim(claim.kind, value, claim.verified or bool(previous and previous.verified))
    return list(seen.values())


def contact_resolve(*, sender: IdentityClaim, others: list[IdentityClaim], name: str) -> ResolvedContact:
    """Find or create the contact behind ``sender`` and attach the other identities it claims.

    Runs inside the caller's transaction; a concurrent creation surfaces as IntegrityError and the
    caller retries, when the row the other writer made is found instead.
    """
    claims = normalized_claims([sender, *others])
    primary_claim, other_claims = claims[0], claims[1:]
    lookup = Q()
    for claim in claims:
        lookup |= Q(kind=claim.kind, value=claim.value)
    existing = {
        (identity.kind, identity.value): identity
        for identity in ContactIdentity.objects.filter(lookup).select_related("contact")
    }
    now = timezone.now()
    primary = existing.get((primary_claim.kind, primary_claim.value))
    created = False
    if primary is not None:
        contact = live_contact(primary.contact)
    else:
        verified_owner = _contact_for_verified_claims(other_claims, existing)
        created = verified_owner is None
        if verified_owner is None:
            contact = contact_row(name=name)
            contact.save(force_insert=True)
        else:
            contact = verified_owner
        primary = identity_row(contact=contact, claim=primary_claim, seen_at=now)
        primary.save(force_insert=True)
    for claim in other_claims:
        _attach_claim(contact, claim, existing.get((claim.kind, claim.value)))
    if primary.contact_id == contact.pk:
        fields: dict[str, object] = {}
        if last_seen_due(primary.last_seen_at, now):
            fields["last_seen_at"] = now
        if primary_claim.verified and not primary.verified:
            fields["verified"] = True
        if fields:
            ContactIdentity.objects.filter(pk=primary.pk).update(**fields)
    if name and not contact.name:
        contact.name = name[:200]
        Contact.objects.filter(pk=contact.pk, name="").update(name=contact.name)
    return ResolvedContact(contact, primary, created)


def live_contact(contact: Contact) -> Contact:
    # Merges move identities, so this only follows a chain left by an interrupted merge.
    hops = 0
    while contact.merged_into_id is not None and hops < 10:
        contact = Contact.objects.get(pk=contact.merged_into_id)
        hops += 1
    return contact


def _contact_for_verified_claims(
    claims: list[IdentityClaim], existing: dict[tuple[str, str], ContactIdentity]
) -> Contact | None:
    for claim in claims:
        identity = existing.get((claim.kind, claim.value))
        if claim.verified and identity is not None:
            return live_contact(identity.contact)
    return None


def _attach_claim(contact: Contact, claim: IdentityClaim, identity: ContactIdentity | None) -> None:
    if identity is None:
        identity_row(contact=contact, claim=claim, seen_at=None).save(force_insert=True)
        return
    if identity.contact_id == contact.pk:
        if claim.verified and not identity.verified:
            ContactIdentity.objects.filter(pk=identity.pk).update(verified=True)
        return
    # The identity belongs to someone else and this message cannot prove otherwise: an agent decides.
    MergeSuggestion.objects.get_or_create(
        contact=contact,
        candidate_id=identity.contact_id,
        defaults={"identity_kind": claim.kind, "identity_value": claim.value},
    )

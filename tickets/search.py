"""Ticket text search: one rule for the inbox search and the API's ``q``, on PostgreSQL and SQLite.

PostgreSQL (scaled mode) matches the subject and message text with full-text search over GIN
expression indexes (``tickets/migrations/0002_queue_and_search_indexes.py``), so a search reads the
matching rows instead of every message. SQLite (embedded mode) keeps the substring match: its data is
small and it has no full-text index we ship.

Text is indexed with the ``simple`` configuration: tickets arrive in Italian and English (and whatever
else customers write), a ticket's language is often unknown, and a language's stemmer applied to the
other language's words (or a stop word list that drops Italian "come", "non") loses matches. ``simple``
lower-cases and splits words without stemming; each searched word matches as a prefix ("rimbors"
finds "rimborso", "rimborsi"), which covers most of what stemming would.

Contact names and identity values (email addresses, phones, provider ids) keep the substring match on
both databases: agents paste fragments of them ("luigi@example", "+39333"), which word matching would
miss. On PostgreSQL trigram indexes (``pg_trgm``, where the extension can be created) answer those
substring matches without reading every contact.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, QuerySet

from tickets.models import Contact, ContactIdentity, Message, Ticket

# The config every full-text index and query uses; the migration's index expressions name it too.
SEARCH_CONFIG = "simple"
# Beyond this many words a query is a pasted paragraph; its first words decide well enough.
MAX_WORDS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


def full_text_available() -> bool:
    """True where the GIN indexes exist: PostgreSQL."""
    return connection.vendor == "postgresql"


def tsquery_text(text: str) -> str:
    """``text`` as a ``to_tsquery`` argument: every word, as a prefix, all required.

    Words are taken with ``\\w+`` and quoted, so no input can inject tsquery operators.
    """
    words = _WORD.findall(text.lower())[:MAX_WORDS]
    return " & ".join(f"'{word}':*" for word in words)


class _Matches(Func):
    """``to_tsvector('simple', <column>) @@ to_tsquery('simple', <query>)``.

    Written out rather than through ``SearchVector``, which wraps the column in ``COALESCE``: the
    expression must be the indexed one, character for character, for PostgreSQL to use the index.
    """

    output_field = BooleanField()
    template = (
        f"to_tsvector('{SEARCH_CONFIG}'::regconfig, %(expressions)s) "
        f"@@ to_tsquery('{SEARCH_CONFIG}'::regconfig, %(query)s)"
    )

    def __init__(self, column: str, query: str) -> None:
        super().__init__(F(column))
        self.query = query

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        sql, params = super().as_sql(
            compiler, connection, function, template, arg_joiner, query="%s", **extra
        )
        return sql, (*params, self.query)


def ticket_search_q(text: str) -> Q:
    """Tickets whose subject, any message's text, contact name or any identity matches ``text``."""
    text = text.strip()
    if full_text_available():
        return _full_text_q(text)
    in_messages = Message.objects.filter(ticket=OuterRef("pk"), text__icontains=text)
    in_identities = ContactIdentity.objects.filter(contact=OuterRef("contact_id"), value__icontains=text)
    return (
        Q(subject__icontains=text)
        | Q(contact__name__icontains=text)
        | Q(Exists(in_messages))
        | Q(Exists(in_identities))
    )


def _full_text_q(text: str) -> Q:
    """Matching ticket ids as one ``UNION`` of indexed lookups, then ``id IN (...)``.

    An ``OR`` of the same conditions makes PostgreSQL evaluate each one on every visible ticket; the
    union reads only the rows each index finds, and a ticket matching in many messages appears once.
    """
    # One arm per condition, so that each gets its own row estimate and index: an OR of the name and
    # identity conditions is estimated at half the contacts, which makes the plan read every ticket.
    by_name = Ticket.objects.filter(contact_id__in=Contact.objects.filter(name__icontains=text).values("pk"))
    identities = ContactIdentity.objects.filter(value__icontains=text).values("contact_id")
    by_identity = Ticket.objects.filter(contact_id__in=identities)
    arms: list[QuerySet[Any, Any]] = [by_name.order_by().values("pk"), by_identity.order_by().values("pk")]
    query = tsquery_text(text)
    if query:
        # Only punctuation leaves no words to match, but "@example" may still be in an identity.
        arms.append(Ticket.objects.filter(_Matches("subject", query)).order_by().values("pk"))
        arms.append(Message.objects.filter(_Matches("text", query)).order_by().values("ticket_id"))
    return Q(pk__in=arms[0].union(*arms[1:]))

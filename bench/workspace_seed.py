"""Benchmark data for ``bench/workspace.py``: a help desk's history, written in bulk SQL.

This is test data, not domain writes: ``INSERT ... SELECT generate_series`` fills a million messages in
about a minute, where the services would take hours. The row shapes follow what ingest writes (a
contact with an email and often a phone identity, one open ticket per contact at most, inbound messages
carrying their identity and channel, replies their author, a ``ticket.created`` audit event).

Pseudo-random choices are arithmetic on the row number, so two seeds of the same size are identical.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FIRST_NAMES = [
    "Giulia", "Marco", "Francesca", "Luca", "Chiara", "Alessandro", "Sara", "Matteo", "Elena", "Davide",
    "Emma", "Oliver", "Sophie", "James", "Alice", "Thomas", "Laura", "Paolo", "Anna", "Giorgio",
]  # fmt: skip
LAST_NAMES = [
    "Rossi", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti",
    "Smith", "Jones", "Taylor", "Brown", "Wilson", "Esposito", "Ferrari", "Moretti", "Fontana", "Costa",
    "Evans", "Walker", "Russo", "Lombardi", "Barbieri",
]  # fmt: skip
SUBJECTS = [
    "Rimborso non ricevuto", "Problema con la fattura", "Ordine in ritardo", "Cambio indirizzo di consegna",
    "Password dimenticata", "Prodotto difettoso", "Richiesta di reso", "Domanda sull'abbonamento",
    "Refund not received", "Problem with my invoice", "Order is late", "Change of delivery address",
    "Cannot log in", "Damaged item", "Return request", "Question about my subscription",
]  # fmt: skip
GREETINGS = ["Buongiorno,", "Salve,", "Ciao,", "Hello,", "Hi,", "Good morning,"]
BODIES = [
    "il mio ordine non è ancora arrivato e il tracking è fermo da giorni.",
    "ho ricevuto la fattura ma l'importo non corrisponde al preventivo.",
    "vorrei sapere quando riceverò il rimborso per il reso.",
    "il prodotto è arrivato danneggiato, allego le foto.",
    "non riesco ad accedere al mio account dopo il cambio password.",
    "potete modificare l'indirizzo di spedizione dell'ordine?",
    "grazie per la risposta, ora funziona tutto.",
    "abbiamo verificato con il corriere: la consegna è prevista per domani.",
    "my order has not arrived yet and the tracking has not moved for days.",
    "I received the invoice but the amount does not match the quote.",
    "when will I get the refund for my return?",
    "the item arrived damaged, photos attached.",
    "I cannot log into my account since I changed my password.",
    "could you change the shipping address of my order?",
    "thanks for the quick answer, everything works now.",
    "we checked with the courier: delivery is expected tomorrow.",
]
TAGS = ["refund", "vip", "bug", "billing", "shipping"]
# Tables seeded with explicit ids: their identity sequences must move past them.
SEQUENCED = ("tickets_contact", "tickets_contactidentity", "tickets_ticket", "tickets_message")


@dataclass(frozen=True)
class SeedSize:
    tickets: int
    messages: int
    contacts: int
    open_share: float

    @property
    def open_tickets(self) -> int:
        # One open ticket per contact is a database constraint: the share is capped by the contacts.
        return min(int(self.tickets * self.open_share), self.contacts)


@dataclass(frozen=True)
class Directory:
    """Rows made through Django before the bulk insert: who and where."""

    team_ids: tuple[int, int]
    # Three agents per team, in team order.
    agent_ids: tuple[int, ...]
    channel_ids: tuple[int, int, int]  # email, web chat, WhatsApp


def _array(values: list[str]) -> str:
    quoted = ",".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"ARRAY[{quoted}]"


def seed_statements(size: SeedSize, directory: Directory) -> list[tuple[str, str]]:
    """(label, SQL) pairs that fill an empty, migrated database."""
    t, m, c = size.tickets, size.messages, size.contacts
    first_open = t - size.open_tickets + 1
    team_a, team_b = directory.team_ids
    agents = "ARRAY[" + ",".join(str(pk) for pk in directory.agent_ids) + "]"
    email, chat, whatsapp = directory.channel_ids
    first, last = _array(FIRST_NAMES), _array(LAST_NAMES)
    # Ticket i was created (t - i) * 6 minutes before the base time: about a year of history.
    created = f"(base.at - (({t} - i) * interval '6 minutes'))"
    ticket_of_message = f"(((j - 1) % {t}) + 1)"
    turn = f"((j - 1) / {t})"
    return [
        (
            "contacts",
            f"""
            INSERT INTO tickets_contact (id, name, language, tier, tags, notes, created_at, updated_at)
            SELECT n, ({first})[1 + n % 20] || ' ' || ({last})[1 + (n / 20) % 25],
                   CASE WHEN n % 3 = 0 THEN 'en' ELSE 'it' END, CASE WHEN n % 50 = 0 THEN 'gold' ELSE '' END,
                   '[]', '', now() - n * interval '10 minutes', now()
            FROM generate_series(1, {c}) AS n
            """,
        ),
        (
            "identities",
            f"""
            INSERT INTO tickets_contactidentity
                (id, contact_id, kind, value, verified, bounce_reason, created_at, last_seen_at)
            SELECT n, n, 'email',
                   lower(({first})[1 + n % 20] || '.' || ({last})[1 + (n / 20) % 25]) || '.' || n
                       || '@example.com',
                   true, '', now(), now()
            FROM generate_series(1, {c}) AS n
            UNION ALL
            SELECT {c} + n, n, 'phone', '+39333' || lpad(n::text, 7, '0'), false, '', now(), NULL
            FROM generate_series(2, {c}, 2) AS n
            """,
        ),
        (
            "tickets",
            f"""
            INSERT INTO tickets_ticket (
                id, subject, contact_id, status, priority, team_id, assignee_id, origin_channel_id, token,
                language, awaiting_agent_since, last_customer_message_at, first_response_at, solved_at,
                reopened_count, seq, created_at, updated_at)
            SELECT i, ({_array(SUBJECTS)})[1 + (i * 7) % 16], ((i - 1) % {c}) + 1,
                   CASE WHEN i < {first_open} THEN (CASE WHEN i % 5 < 2 THEN 'solved' ELSE 'closed' END)
                        ELSE (ARRAY['new','new','open','open','open','open','open','pending','pending',
                                    'on_hold'])[1 + i % 10] END,
                   (ARRAY[4,3,3,2,2,2,2,2,2,1])[1 + ((i * 37) % 101) % 10],
                   CASE WHEN i % 2 = 0 THEN {team_a} ELSE {team_b} END,
                   CASE WHEN i >= {first_open} AND (i * 13) % 10 < 4 THEN NULL
                        ELSE ({agents})[1 + (i % 2) * 3 + (i / 2) % 3] END,
                   (ARRAY[{email},{email},{email},{email},{email},{email},{chat},{chat},{chat},{whatsapp}])
                       [1 + (i * 3) % 10],
                   'b' || i, CASE WHEN i % 3 = 0 THEN 'en' ELSE 'it' END,
                   CASE WHEN i >= {first_open} AND i % 10 < 7 THEN {created} + interval '9 hours' END,
                   {created} + interval '9 hours', {created} + interval '1 hour',
                   CASE WHEN i < {first_open} THEN {created} + interval '10 hours' END,
                   0, 1, {created}, {created} + interval '9 hours'
            FROM generate_series(1, {t}) AS i, (SELECT now() AS at) AS base
            """,
        ),
        (
            "messages",
            f"""
            INSERT INTO tickets_message (
                id, ticket_id, direction, channel_account_id, identity_id, author_id, subject, text, html,
                full_text, external_id, status, failure_reason, attempts, is_public, is_automatic, sent_at,
                created_at, status_changed_at, metadata)
            SELECT j, tk.id, d.direction, CASE WHEN d.direction = 'note' THEN NULL ELSE {email} END,
                   CASE WHEN d.direction = 'inbound' THEN tk.contact_id END,
                   CASE WHEN d.direction = 'inbound' THEN NULL ELSE tk.assignee_id END,
                   '', ({_array(GREETINGS)})[1 + j % 6] || ' ' || ({_array(BODIES)})[1 + (j * 31) % 16]
                       || ' Ordine ' || (100000 + (j * 7919) % 900000) || '.',
                   '', '', CASE WHEN d.direction = 'inbound' THEN 'bench-' || j END,
                   CASE WHEN d.direction = 'inbound' THEN 'received' ELSE 'delivered' END,
                   '', 0, false, false, tk.created_at + {turn} * interval '1 hour',
                   tk.created_at + {turn} * interval '1 hour', tk.created_at + {turn} * interval '1 hour',
                   '{{}}'
            FROM generate_series(1::bigint, {m}) AS j
            JOIN tickets_ticket AS tk ON tk.id = {ticket_of_message}
            CROSS JOIN LATERAL (
                SELECT CASE WHEN {turn} % 2 = 0 THEN 'inbound' WHEN j % 17 = 0 THEN 'note'
                            ELSE 'outbound' END AS direction
            ) AS d
            """,
        ),
        (
            "events",
            """
            INSERT INTO tickets_ticketevent (ticket_id, seq, type, payload, reason, created_at)
            SELECT id, 1, 'ticket.created', '{}', '', created_at FROM tickets_ticket
            """,
        ),
        (
            "tags",
            f"""
            INSERT INTO tickets_tag (name) SELECT unnest({_array(TAGS)});
            INSERT INTO tickets_ticket_tags (ticket_id, tag_id)
            SELECT i, (SELECT id FROM tickets_tag ORDER BY id OFFSET (i / 5) % 5 LIMIT 1)
            FROM generate_series(5, {t}, 5) AS i
            """,
        ),
        (
            "sequences",
            ";".join(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                for table in SEQUENCED
            ),
        ),
    ]


def seed(cursor: Any, size: SeedSize, directory: Directory, log: Callable[[str], None]) -> None:
    cursor.execute("SET synchronous_commit = off")
    for label, sql in seed_statements(size, directory):
        started = time.monotonic()
        cursor.execute(sql)
        log(f"  seeded {label} in {time.monotonic() - started:.1f} s")

"""What bench/chaos checks: the database's outcome, the live feed and the websocket catch-up.

The feed follower reads ``/api/v1/live/feed`` through the whole run, as an inbox that polls; the
websocket followers keep agent sockets subscribed to tickets through the faults, reconnecting and
catching up with ``after_seq`` as docs/events.md tells a client to. After the run, every ticket's
events are asked for again over fresh sockets (``subscribe`` with ``after_seq=0``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import psycopg2
from websockets.asyncio.client import connect

from bench.chaos_load import RETRYABLE, HttpPool

_MARKER = re.compile(r"\[(chaos-\d+-\d+|reply-\d+)\]")
OPEN = ("new", "open", "pending", "on_hold")


class Database:
    """One connection for the bench's own reads, opened again whenever the server was restarted."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.Lock()
        self.connection: Any = None

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            try:
                if self.connection is None:
                    self.connection = psycopg2.connect(self.url, connect_timeout=5)
                    self.connection.autocommit = True
                with self.connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    return list(cursor.fetchall())
            except psycopg2.Error:
                with contextlib.suppress(Exception):
                    self.connection.close()
                self.connection = None
                raise

    async def aquery(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]] | None:
        """The rows, or None while the server cannot answer (it is being restarted)."""
        try:
            return await asyncio.to_thread(self.query, sql, params)
        except psycopg2.Error:
            return None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()


def ticket_lookup(database: Database, account_id: int) -> Any:
    async def ticket_of(customer: int) -> int | None:
        rows = await database.aquery(
            "SELECT t.id FROM tickets_ticket t JOIN tickets_contactidentity i ON i.contact_id = t.contact_id "
            "WHERE i.kind = 'api' AND i.value = %s AND t.status IN %s ORDER BY t.id LIMIT 1",
            (f"{account_id}:customer-{customer}", OPEN),
        )
        return int(rows[0][0]) if rows else None

    return ticket_of


def reply_lookup(database: Database) -> Any:
    async def reply_exists(marker: str) -> bool:
        while True:
            rows = await database.aquery(
                "SELECT count(*) FROM tickets_message WHERE direction = 'outbound' AND text LIKE %s",
                (f"%[{marker}]",),
            )
            if rows is not None:
                return bool(rows[0][0])
            await asyncio.sleep(0.5)

    return reply_exists


class FeedFollower:
    """An inbox that polls the live feed: what every read returned, by (ticket, seq)."""

    def __init__(self, pool: HttpPool, token: str, since: datetime) -> None:
        self.pool, self.token = pool, token
        self.since = since.isoformat()
        self.seen: Counter[tuple[int, int]] = Counter()
        self.doubled_in_read = 0
        self.reads = 0
        self.tickets: list[int] = []  # in order of first sight
        self.known: set[int] = set()

    async def read_once(self) -> bool:
        """One catch-up (every page); False if the server failed, to be asked again."""
        headers = {"Authorization": f"Token {self.token}"}
        query = f"since={quote(self.since)}"
        read: Counter[tuple[int, int]] = Counter()
        while True:
            try:
                status, body = await self.pool.request("GET", f"/api/v1/live/feed?{query}", headers)
            except RETRYABLE:
                return False
            if status != 200:
                return False
            page = json.loads(body)
            for event in page["events"]:
                read[(event["ticket_id"], event["seq"])] += 1
            if not page["has_more"]:
                break
            query = f"cursor={quote(page['cursor'])}&until={quote(page['until'])}"
        self.reads += 1
        self.doubled_in_read += sum(count - 1 for count in read.values())
        for key in read:
            if key[0] not in self.known:
                self.known.add(key[0])
                self.tickets.append(key[0])
            self.seen[key] += 1
        self.since = page["next_since"]
        return True

    async def follow(self, stop: asyncio.Event, interval: float) -> None:
        while not stop.is_set():
            await self.read_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


class SocketFollower:
    """One agent socket subscribed to some tickets through the whole run; reconnects and catches up."""

    # docs/events.md: 10 frames a second sustained; subscriptions are sent below that.
    FRAME_GAP = 0.15

    def __init__(self, url: str, origin: str, session: str) -> None:
        self.url, self.origin, self.session = url, origin, session
        self.tickets: list[int] = []
        self.received: dict[int, list[int]] = defaultdict(list)
        self.reconnects = 0
        self.rate_limited = 0

    def last(self, ticket: int) -> int:
        seqs = self.received.get(ticket)
        return seqs[-1] if seqs else 0

    async def _subscribe(self, connection: Any, ticket: int) -> None:
        await connection.send(
            json.dumps({"type": "subscribe", "ticket_id": ticket, "after_seq": self.last(ticket)})
        )
        await asyncio.sleep(self.FRAME_GAP)

    async def run(self, stop: asyncio.Event, wanted: asyncio.Queue[int]) -> None:
        while not stop.is_set():
            try:
                async with connect(
                    self.url,
                    additional_headers={"Cookie": f"sessionid={self.session}"},
                    origin=self.origin,  # type: ignore[arg-type]
                    open_timeout=20,
                    max_queue=None,
                ) as connection:
                    await self._session(connection, stop, wanted)
            except (OSError, TimeoutError, Exception):
                if stop.is_set():
                    return
            self.reconnects += 1
            await asyncio.sleep(0.5)

    async def _session(self, connection: Any, stop: asyncio.Event, wanted: asyncio.Queue[int]) -> None:
        hello = json.loads(await asyncio.wait_for(connection.recv(), 20))
        if hello.get("type") != "hello":
            raise ConnectionError(f"expected hello, got {hello}")
        # Tickets this connection has an answer to ``subscribe`` for: an inbox copy of an event that
        # arrives before it is sent again by the subscription's replay (docs/events.md), so only the
        # subscription's stream is counted.
        subscribed: set[int] = set()
        reader = asyncio.create_task(self._read(connection, subscribed))
        try:
            for ticket in list(self.tickets):
                await self._subscribe(connection, ticket)
            while not stop.is_set() and not reader.done():
                try:
                    ticket = await asyncio.wait_for(wanted.get(), 0.5)
                except TimeoutError:
                    continue
                self.tickets.append(ticket)
                await self._subscribe(connection, ticket)
        finally:
            if stop.is_set():
                await connection.close()
            with contextlib.suppress(Exception):
                await reader

    async def _read(self, connection: Any, subscribed: set[int]) -> None:
        async for raw in connection:
            frame = json.loads(raw)
            if frame.get("type") == "error" and frame.get("code") == "rate_limited":
                self.rate_limited += 1
            ticket, seq = frame.get("ticket_id"), frame.get("seq")
            if frame.get("type") == "subscribed":
                subscribed.add(ticket)
            elif ticket in subscribed and isinstance(seq, int) and "data" in frame:
                self.received[ticket].append(seq)


async def catch_up_all(
    url: str, origin: str, sessions: list[str], tickets: list[int]
) -> dict[int, list[int]]:
    """Every ticket's events through ``subscribe`` with ``after_seq=0``, over one socket per session."""
    result: dict[int, list[int]] = {}
    share = [tickets[index :: len(sessions)] for index in range(len(sessions))]

    async def one(session: str, mine: list[int]) -> None:
        async with connect(
            url,
            additional_headers={"Cookie": f"sessionid={session}"},
            origin=origin,
            max_queue=None,  # type: ignore[arg-type]
        ) as connection:
            await asyncio.wait_for(connection.recv(), 20)
            for ticket in mine:
                await connection.send(json.dumps({"type": "subscribe", "ticket_id": ticket, "after_seq": 0}))
                seqs: list[int] = []
                current = None
                while current is None or (seqs[-1] if seqs else 0) < current:
                    frame = json.loads(await asyncio.wait_for(connection.recv(), 20))
                    if frame.get("type") == "subscribed" and frame.get("ticket_id") == ticket:
                        current = frame["seq"]
                    elif (
                        frame.get("ticket_id") == ticket
                        and "data" in frame
                        and isinstance(frame.get("seq"), int)
                    ):
                        seqs.append(frame["seq"])
                    elif frame.get("type") == "error":
                        raise RuntimeError(f"catch-up of ticket {ticket}: {frame}")
                result[ticket] = seqs
                await asyncio.sleep(SocketFollower.FRAME_GAP)
                await connection.send(json.dumps({"type": "unsubscribe", "ticket_id": ticket}))
                await asyncio.sleep(SocketFollower.FRAME_GAP)

    await asyncio.gather(*(one(session, mine) for session, mine in zip(sessions, share, strict=True)))
    return result


def sequence_faults(received: list[int], last: int) -> tuple[int, int, int]:
    """(missing, doubled, out of order) of a ticket's events against 1..last."""
    counts = Counter(received)
    missing = sum(1 for seq in range(1, last + 1) if seq not in counts)
    doubled = sum(count - 1 for count in counts.values())
    disorder = sum(1 for before, after in itertools.pairwise(received) if after <= before)
    return missing, doubled, disorder


def outcome(database: Database, *, delivered: set[str]) -> dict[str, Any]:
    """The database's side: every message once and in order, one open ticket each, nothing pending."""
    filed: Counter[str] = Counter()
    by_ticket: dict[int, list[tuple[Any, int, str]]] = defaultdict(list)
    for ticket, message_id, sent, text in database.query(
        "SELECT ticket_id, id, sent_at, text FROM tickets_message WHERE direction = 'inbound'"
    ):
        found = _MARKER.search(text)
        marker = found.group(1) if found else f"?{message_id}"
        filed[marker] += 1
        by_ticket[ticket].append((sent, message_id, marker))
    timeline_disorder = filing_disorder = 0
    for rows in by_ticket.values():
        timeline_disorder += _descents([marker for *_key, marker in sorted(rows)])
        filing_disorder += _descents([marker for _sent, _id, marker in sorted(rows, key=lambda row: row[1])])
    open_per_contact = Counter(
        contact
        for (contact,) in database.query("SELECT contact_id FROM tickets_ticket WHERE status IN %s", (OPEN,))
    )
    states = dict(database.query("SELECT state, count(*) FROM channels_in_inboundevent GROUP BY state"))
    gaps = database.query(
        "SELECT t.id FROM tickets_ticket t LEFT JOIN tickets_ticketevent e ON e.ticket_id = t.id "
        "GROUP BY t.id, t.seq HAVING count(e.id) <> t.seq OR count(DISTINCT e.seq) <> t.seq "
        "OR coalesce(min(e.seq), 1) <> 1 OR coalesce(max(e.seq), 0) <> t.seq"
    )
    return {
        "filed": sum(1 for marker in delivered if filed[marker] >= 1),
        "lost": sum(1 for marker in delivered if filed[marker] == 0),
        "doubled": sum(filed[marker] - 1 for marker in delivered if filed[marker] > 1),
        "unexpected": sum(count for marker, count in filed.items() if marker not in delivered),
        "timeline_out_of_order": timeline_disorder,
        "filed_out_of_order": filing_disorder,
        "contacts_with_open_tickets": len(open_per_contact),
        "contacts_with_several_open_tickets": sum(1 for count in open_per_contact.values() if count > 1),
        "events_by_state": {str(key): int(value) for key, value in states.items()},
        "tickets_with_seq_gaps": len(gaps),
    }


def _descents(markers: list[str]) -> int:
    """How many times a customer's message follows a later one of theirs."""
    indexes = [int(marker.rsplit("-", 1)[1]) for marker in markers if marker.startswith("chaos-")]
    return sum(1 for before, after in itertools.pairwise(indexes) if after < before)


def now_utc() -> datetime:
    return datetime.now(UTC)

"""The senders of bench/chaos: customers whose provider delivers every message three times, and agents.

Each customer writes its messages one after the other: the next only once the previous one was
accepted (a 2xx), so the order in which they reach Sportello is the customer's order. Every message
is delivered three times, as providers do: two copies at once, and a third one later. A sender
retries on connection errors, 429 and 5xx with backoff, a bounded number of times, like a provider.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bench.wire import http_response_read

ATTEMPTS = 12
BACKOFF_CAP = 4.0


@dataclass
class Counters:
    deliveries: int = 0  # POSTs that got a 2xx
    accepted: int = 0  # ... answered "accepted" (a new event)
    duplicates: int = 0  # ... answered "duplicate" (an event already stored)
    retries: int = 0  # attempts after a connection error or a 5xx
    gave_up: int = 0  # deliveries that never got a 2xx
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    delivered: set[str] = field(default_factory=set)  # markers of messages with a 2xx
    last_2xx: float = 0.0


class HttpPool:
    """Kept-alive HTTP/1.1 connections to one server; a broken one is dropped and replaced."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
        for _ in range(size):
            self.free.put_nowait(None)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        """One request; raises OSError (and kin) when the connection fails."""
        connection = await self.free.get()
        try:
            if connection is None:
                connection = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 10)
            reader, writer = connection
            head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            writer.write(head.encode() + b"\r\n" + body)
            status, close, payload = await asyncio.wait_for(http_response_read(reader), 60)
            if close:
                writer.close()
                connection = None
            return status, payload
        except BaseException:
            if connection is not None:
                connection[1].close()
            connection = None
            raise
        finally:
            self.free.put_nowait(connection)


RETRYABLE = (
    OSError,
    ConnectionError,
    asyncio.IncompleteReadError,
    asyncio.TimeoutError,
    ValueError,
    IndexError,
)


async def call_with_retries(
    send: Callable[[], Awaitable[tuple[int, bytes]]], counters: Counters, rng: random.Random
) -> tuple[int, bytes] | None:
    """Retry like a provider: connection errors, 429 and 5xx, backing off; None after the last try."""
    for attempt in range(ATTEMPTS):
        if attempt:
            counters.retries += 1
            await asyncio.sleep(min(BACKOFF_CAP, 0.1 * 2**attempt) * (0.5 + rng.random()))
        try:
            status, body = await send()
        except RETRYABLE:
            counters.transport_errors += 1
            continue
        counters.statuses[status] = counters.statuses.get(status, 0) + 1
        if status == 429 or status >= 500:
            continue
        return status, body
    counters.gave_up += 1
    return None


@dataclass(frozen=True)
class Message:
    customer: int
    index: int
    channel: str  # "api" or "email"

    @property
    def marker(self) -> str:
        return f"chaos-{self.customer}-{self.index}"


def plan(*, messages: int, customers: int, email_share: float, rng: random.Random) -> list[list[Message]]:
    """Each customer's messages in order; the first always by the API (it names the email address)."""
    per_customer = messages // customers
    return [
        [
            Message(customer, index, "email" if index and rng.random() < email_share else "api")
            for index in range(per_customer)
        ]
        for customer in range(customers)
    ]


_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def sent_at(message: Message) -> datetime:
    # The customer's own clock: their messages one minute apart, in their order.
    return _EPOCH + timedelta(minutes=message.index)


def api_request(message: Message, *, key: str, token: str) -> tuple[str, dict[str, str], bytes]:
    customer = message.customer
    body = json.dumps(
        {
            "message_id": message.marker,
            "sender": {
                "id": f"customer-{customer}",
                "name": f"Customer {customer}",
                "email": f"customer{customer}@example.com",
            },
            "text": f"Message {message.index} of customer {customer} [{message.marker}]",
            "sent_at": sent_at(message).isoformat(),
        }
    ).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return f"/api/v1/inbound/{key}/messages", headers, body


def email_request(message: Message, *, key: str, token: str) -> tuple[str, dict[str, str], bytes]:
    customer = message.customer
    mime = (
        f"From: Customer {customer} <customer{customer}@example.com>\r\n"
        "To: support@example.com\r\n"
        f"Subject: Order {customer}\r\n"
        f"Message-ID: <{message.marker}@mail.example.com>\r\n"
        f"Date: {format_datetime(sent_at(message))}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Message {message.index} of customer {customer} [{message.marker}]\r\n"
    ).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"}
    return f"/api/v1/inbound/email/{key}/raw", headers, mime


class Customers:
    """Drives every customer's messages, three deliveries each, and counts what came back."""

    def __init__(self, pool: HttpPool, channels: dict[str, str], rng: random.Random, late_max: float) -> None:
        self.pool, self.channels, self.rng, self.late_max = pool, channels, rng, late_max
        self.counters = Counters()
        self.late: list[asyncio.Task[None]] = []
        # customer -> how many of their messages were delivered so far
        self.progress: dict[int, int] = {}

    def _request(self, message: Message) -> tuple[str, dict[str, str], bytes]:
        if message.channel == "api":
            return api_request(message, key=self.channels["api_key"], token=self.channels["api_token"])
        return email_request(message, key=self.channels["email_key"], token=self.channels["email_token"])

    async def deliver(self, message: Message) -> bool:
        path, headers, body = self._request(message)
        result = await call_with_retries(
            lambda: self.pool.request("POST", path, headers, body), self.counters, self.rng
        )
        if result is None:
            return False
        status, payload = result
        if not 200 <= status < 300:
            raise RuntimeError(f"{message.marker}: answered {status}: {payload[:300]!r}")
        self.counters.deliveries += 1
        self.counters.last_2xx = time.time()
        if json.loads(payload).get("status") == "duplicate":
            self.counters.duplicates += 1
        else:
            self.counters.accepted += 1
        self.counters.delivered.add(message.marker)
        return True

    async def _late_copy(self, message: Message, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.deliver(message)

    async def customer(self, messages: list[Message]) -> None:
        for message in messages:
            # Two copies at once (a provider's retry racing its first try); the next message waits
            # for one of them to be accepted.
            first, second = await asyncio.gather(self.deliver(message), self.deliver(message))
            delay = self.rng.random() * self.late_max
            self.late.append(asyncio.create_task(self._late_copy(message, delay)))
            if not (first or second):
                return  # the provider gave up on this message: the rest of the conversation waits
            self.progress[message.customer] = message.index + 1

    async def run(self, conversations: list[list[Message]]) -> None:
        await asyncio.gather(*(self.customer(messages) for messages in conversations))
        await asyncio.gather(*self.late)


class Agents:
    """Agent replies through the API, each to a customer's open ticket, on the API channel.

    Creating a reply is not idempotent for its caller, so after an attempt whose outcome is unknown
    (a broken connection, a 5xx) the agent looks for the reply before sending it again, as a careful
    client does.
    """

    def __init__(
        self,
        pool: HttpPool,
        *,
        token: str,
        channel_id: int,
        ticket_of: Callable[[int], Awaitable[int | None]],
        reply_exists: Callable[[str], Awaitable[bool]],
        rng: random.Random,
    ) -> None:
        self.pool, self.token, self.channel_id, self.rng = pool, token, channel_id, rng
        self.ticket_of, self.reply_exists = ticket_of, reply_exists
        self.counters = Counters()
        self.sent: set[str] = set()

    async def reply(
        self, number: int, customer: int, customers: Customers, after: int, done: asyncio.Event
    ) -> None:
        while customers.progress.get(customer, 0) <= after:
            if done.is_set():
                return  # the customer never got that far (their provider gave up)
            await asyncio.sleep(0.25)
        ticket = await self.ticket_of(customer)
        while ticket is None:
            await asyncio.sleep(0.3)
            ticket = await self.ticket_of(customer)
        marker = f"reply-{number}"
        body = json.dumps({"text": f"Reply {number} [{marker}]", "channel": self.channel_id}).encode()
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        for attempt in range(ATTEMPTS):
            if attempt:
                self.counters.retries += 1
                await asyncio.sleep(min(BACKOFF_CAP, 0.1 * 2**attempt) * (0.5 + self.rng.random()))
                if await self.reply_exists(marker):
                    break
            try:
                status, payload = await self.pool.request(
                    "POST", f"/api/v1/tickets/{ticket}/reply", headers, body
                )
            except RETRYABLE:
                self.counters.transport_errors += 1
                continue
            self.counters.statuses[status] = self.counters.statuses.get(status, 0) + 1
            if status == 201:
                break
            if status != 429 and status < 500:
                raise RuntimeError(f"{marker}: answered {status}: {payload[:300]!r}")
        else:
            self.counters.gave_up += 1
            return
        self.counters.deliveries += 1
        self.sent.add(marker)

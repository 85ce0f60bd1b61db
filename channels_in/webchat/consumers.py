"""The visitor websocket, ``/ws/widget/<channel key>/``: the widget's messages, replies, typing, read state.

The protocol is in ``docs/channels/webchat.md``. The first frame must be ``auth`` with the signed visitor
token; until then nothing else is heard. The socket joins only its visitor's group, delivers only events
addressed to that group, and re-reads every message through the visitor's own filter, so it can receive
nothing but that visitor's conversation and never an internal note. A message is acknowledged only once
its ``InboundEvent`` is committed; anything malformed, oversized or too frequent gets an error frame, a
flood closes the socket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from channels.db import database_sync_to_async
from django.utils import timezone

from channels_in.base import PayloadError
from channels_in.models import ChannelAccount
from channels_in.webchat import intake, selectors
from channels_in.webchat.adapter import MESSAGE_SENT
from channels_in.webchat.schemas import WebchatConfig, client_id_valid, config_parse
from channels_in.webchat.tokens import TokenInvalid, Visitor, visitor_token_issue, visitor_token_read
from channels_in.webchat.views_support import origin_allowed
from realtime import publisher
from realtime.frames import FrameConsumer, FrameError, RecentKeys, bool_field
from tickets import events
from tickets.client_address import scope_client_address
from tickets.jsonload import json_load
from tickets.ratelimit import TokenBucket
from tickets.services import visitors

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN_CHANNEL = 4404

AUTH_SECONDS = 10.0
RECENT_KEYS = 1024
# The customer's typing reaches the agents at most this often while it stays on; a change (stopped
# typing) goes at once. The widget itself sends far less often.
TYPING_REPEAT_SECONDS = 2.0
# How long the ticket a typing visitor writes on is remembered before it is looked up again.
TYPING_TICKET_SECONDS = 10.0
READ_ATTEMPTS = 20
READ_RETRY_SECONDS = 0.25
_MESSAGE_KINDS = {"message.created", MESSAGE_SENT}


@dataclass
class _Channel:
    account: ChannelAccount
    config: WebchatConfig


def _channel(key: str) -> _Channel | None:
    account = ChannelAccount.objects.filter(key=key, kind=ChannelAccount.Kind.WEBCHAT, active=True).first()
    if account is None:
        return None
    try:
        return _Channel(account, config_parse(account.config))
    except PayloadError:
        logger.warning("web-chat channel %s has an invalid configuration", account.pk)
        return None


@dataclass
class _Typing:
    """What this socket last told the agents about the customer's typing, and where."""

    state: bool = False
    sent_at: float = 0.0
    ticket_id: int | None = None
    looked_up_at: float = -TYPING_TICKET_SECONDS


class WidgetConsumer(FrameConsumer):
    visitor: Visitor | None = None
    channel: _Channel | None = None
    max_frame_chars = 16_384
    rate_per_second = 5.0
    rate_burst = 20.0
    flood_limit = 60
    # A refused message is named, so the widget shows it as not sent, with a retry.
    answer_named_refusals = True
    rate_message = "Too many messages; slow down."
    internal_message = "Something went wrong; try again."
    handlers: ClassVar[dict[str, str]] = {
        "auth": "on_auth",
        "sync": "on_sync",
        "message": "on_message",
        "read": "on_read",
        "typing": "on_typing",
        "ping": "on_ping",
    }

    async def connect(self) -> None:
        publisher.bind_server_loop()
        self.frames_start(
            load=json_load,
            limiter=TokenBucket(rate=self.rate_per_second, burst=self.rate_burst),
        )
        self.group = ""
        self.recent = RecentKeys(RECENT_KEYS)
        self.read_task: asyncio.Future[None] | None = None
        self.typing = _Typing()
        await self.accept()
        key = str(self.scope["url_route"]["kwargs"].get("channel_key", ""))
        self.channel = await database_sync_to_async(_channel)(key)
        if self.channel is None:
            await self.send_error("unknown_channel", "This chat is not available.")
            await self.close(code=CLOSE_UNKNOWN_CHANNEL)
            return
        self.auth_timer = asyncio.get_running_loop().call_later(AUTH_SECONDS, self._auth_timeout)

    def _auth_timeout(self) -> None:
        if self.visitor is None:
            self.closing = asyncio.ensure_future(self.close(code=CLOSE_UNAUTHENTICATED))

    async def disconnect(self, code: int) -> None:
        timer = getattr(self, "auth_timer", None)
        if timer is not None:
            timer.cancel()
        read_task = getattr(self, "read_task", None)
        if read_task is not None:
            read_task.cancel()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = ""
        if self.visitor is not None and self.typing.state:
            await self._typing_publish(False)
        self.visitor = None

    # --- frames from the widget ------------------------------------------------------------------------

    def hearing(self) -> bool:
        return self.channel is not None

    def echo_of(self, frame: dict[str, Any]) -> dict[str, Any]:
        client_id = frame.get("client_id")
        return {"client_id": str(client_id)} if client_id_valid(client_id) else {}

    def admit(self, kind: str) -> None:
        if self.visitor is None and kind != "auth":
            raise FrameError("unauthenticated", "Send the auth frame first.")

    async def on_auth(self, frame: dict[str, Any]) -> None:
        assert self.channel is not None
        account, config = self.channel.account, self.channel.config
        if self.visitor is not None:
            await self._renew(account, frame.get("token"))
            return
        try:
            visitor = visitor_token_read(account, frame.get("token"))  # type: ignore[arg-type]
        except TokenInvalid as error:
            await self.send_error(error.reason, "Your chat session is invalid or has expired.")
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not origin_allowed(config, visitor.origin, own_origin=_header(self.scope, b"origin")):
            await self.send_error("origin_not_allowed", "This site may not use this chat.")
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.visitor = visitor
        self.auth_timer.cancel()
        self.group = events.visitor_group(visitor.visitor_id)
        # Join before reading: a message committed meanwhile arrives after this and is merged by id.
        await self.channel_layer.group_add(self.group, self.channel_name)
        messages, marks = await database_sync_to_async(selectors.visitor_catch_up)(
            account=account, visitor_id=visitor.visitor_id, marks=_marks(frame)
        )
        state = await database_sync_to_async(selectors.availability)(
            account, config, timezone.now(), visitor_id=visitor.visitor_id
        )
        await self.send_frame(
            {
                "type": "hello",
                "visitor_id": visitor.visitor_id,
                "token": visitor_token_issue(account, visitor),
                "verified": visitor.verified,
                "name": visitor.name,
                "email": visitor.email,
                "availability": state,
                "messages": messages,
                "marks": {str(key): value for key, value in marks.items()},
            }
        )

    async def _renew(self, account: ChannelAccount, token: Any) -> None:
        """A newer token of the same visitor (an email given since): later messages carry it."""
        assert self.visitor is not None
        try:
            visitor = visitor_token_read(account, token)
        except TokenInvalid as error:
            raise FrameError(error.reason, "Your chat session is invalid or has expired.") from error
        if visitor.visitor_id != self.visitor.visitor_id:
            raise FrameError("other_visitor", "A socket serves one visitor; connect again.")
        self.visitor = visitor
        await self.send_frame({"type": "renewed", "name": visitor.name, "email": visitor.email})

    async def on_sync(self, frame: dict[str, Any]) -> None:
        assert self.channel is not None and self.visitor is not None
        messages, marks = await database_sync_to_async(selectors.visitor_catch_up)(
            account=self.channel.account,
            visitor_id=self.visitor.visitor_id,
            marks=_marks(frame),
            files=frame.get("files") is True,
        )
        state = await database_sync_to_async(selectors.availability)(
            self.channel.account, self.channel.config, timezone.now(), visitor_id=self.visitor.visitor_id
        )
        await self.send_frame(
            {
                "type": "synced",
                "messages": messages,
                "marks": {str(key): value for key, value in marks.items()},
                "availability": state,
            }
        )

    async def on_message(self, frame: dict[str, Any]) -> None:
        assert self.channel is not None and self.visitor is not None
        client_id, text = frame.get("client_id"), frame.get("text")
        if not client_id_valid(client_id):
            raise FrameError("bad_field", '"client_id" is 8 to 64 letters, digits, "-" or "_".')
        if not isinstance(text, str):
            raise FrameError("bad_field", '"text" must be a string.', client_id=str(client_id))
        try:
            recorded = await database_sync_to_async(intake.visitor_message_record)(
                account=self.channel.account,
                config=self.channel.config,
                visitor=self.visitor,
                client_id=str(client_id),
                text=text.replace("\x00", ""),
                client_address=scope_client_address(self.scope),
                answer_by_email=frame.get("answer_by_email") is True,
                user_agent=_header(self.scope, b"user-agent"),
            )
        except intake.IntakeRefused as refused:
            raise FrameError(
                refused.code, str(refused), client_id=str(client_id), retry_after=refused.retry_after
            ) from refused
        await self.send_frame(
            {
                "type": "ack",
                "client_id": client_id,
                "status": "accepted" if recorded.created else "duplicate",
            }
        )

    async def on_read(self, frame: dict[str, Any]) -> None:
        assert self.channel is not None and self.visitor is not None
        up_to = frame.get("up_to")
        if not isinstance(up_to, int) or isinstance(up_to, bool) or up_to < 0:
            raise FrameError("bad_field", '"up_to" must be a message id.')
        if self.read_task is not None:
            self.read_task.cancel()
        self.read_task = asyncio.ensure_future(self._read(up_to))

    async def _read(self, up_to: int) -> None:
        assert self.channel is not None
        for _ in range(READ_ATTEMPTS):
            if self.visitor is None:
                return
            in_flight = await database_sync_to_async(visitors.visitor_replies_read)(
                account_id=self.channel.account.pk, visitor_id=self.visitor.visitor_id, up_to=up_to
            )
            if not in_flight:
                return
            # The visitor saw a reply whose delivery is being recorded right now.
            await asyncio.sleep(READ_RETRY_SECONDS)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.send_frame({"type": "pong", "at": timezone.now().isoformat()})

    async def on_typing(self, frame: dict[str, Any]) -> None:
        """The customer types (or stopped): the agents with the ticket open see it, throttled here."""
        state = bool_field(frame, "state")
        now = time.monotonic()
        if state == self.typing.state and (not state or now - self.typing.sent_at < TYPING_REPEAT_SECONDS):
            return
        await self._typing_publish(state)

    async def _typing_publish(self, state: bool) -> None:
        assert self.channel is not None and self.visitor is not None
        now = time.monotonic()
        self.typing.state, self.typing.sent_at = state, now
        if now - self.typing.looked_up_at >= TYPING_TICKET_SECONDS or (
            state and self.typing.ticket_id is None
        ):
            self.typing.ticket_id = await database_sync_to_async(selectors.visitor_open_ticket_id)(
                account=self.channel.account, visitor_id=self.visitor.visitor_id
            )
            self.typing.looked_up_at = now
        if self.typing.ticket_id is not None:
            await database_sync_to_async(visitors.customer_typing_announce)(
                ticket_id=self.typing.ticket_id, state=state
            )

    # --- events from the channel layer -----------------------------------------------------------------

    async def live_event(self, message: dict[str, Any]) -> None:
        if self.visitor is None or self.channel is None:
            return
        # Only what was addressed to this visitor's group, whatever brought it here; a message is then
        # re-read through the visitor's own filter below, so it can only ever be theirs, never a note.
        if self.group not in message.get("to", ()):
            return
        if not self.recent.first_time(message.get("key", "")):
            return
        kind = message.get("kind")
        event = json.loads(message["text"])
        if kind in _MESSAGE_KINDS:
            message_id = (event.get("data") or {}).get("id")
            if not isinstance(message_id, int):
                return
            # Re-read through the visitor's own filter: the frame can only ever carry their messages.
            rows = await database_sync_to_async(selectors.visitor_messages_by_id)(
                account=self.channel.account, visitor_id=self.visitor.visitor_id, message_ids=[message_id]
            )
            for row in rows:
                if kind == MESSAGE_SENT and row["status"] in {"queued", "sending"}:
                    # The adapter has handed it over; the database records that a moment later.
                    row["status"] = "sent"
                await self.send_frame({"type": "message", "message": row, "seq": event.get("seq")})
        elif kind == "visitor.typing":
            await self.send_frame({"type": "typing", "state": bool(event.get("state"))})


def _marks(frame: dict[str, Any]) -> dict[int, int]:
    raw = frame.get("marks")
    if not isinstance(raw, dict):
        return {}
    marks: dict[int, int] = {}
    for key, value in list(raw.items())[:100]:
        if isinstance(key, str) and key.isdigit() and isinstance(value, int) and not isinstance(value, bool):
            marks[int(key)] = max(value, 0)
    return marks


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""

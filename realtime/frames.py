"""What every Sportello websocket does with the frames its client sends, in one place.

The agent socket and the visitor's web-chat socket speak different protocols over the same rules: a
frame is one JSON object with a string ``type``, no longer than the socket allows; frames are
rate-limited (a token bucket per socket) and a sustained flood closes the socket; anything wrong is
answered with an error frame (``{"type": "error", "code", "message", ...}``) that echoes the field the
client uses to tell which of its frames failed, and never closes the socket. ``FrameConsumer`` holds
those rules; a socket names its limits, its handlers and its echo field, and hands it the bounded JSON
loader and the limiter its frames are read and counted with.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Any, ClassVar, Protocol

from channels.generic.websocket import AsyncWebsocketConsumer

logger = logging.getLogger(__name__)

CLOSE_FLOODING = 4429


class FrameError(Exception):
    """A frame refused with ``code``; ``echo`` adds fields that name the frame (``ref``, ``client_id``)."""

    def __init__(self, code: str, message: str, **echo: Any) -> None:
        super().__init__(message)
        self.code = code
        self.echo = {key: value for key, value in echo.items() if value}


class RecentKeys:
    """The last ``size`` event keys a socket delivered: an event reaching it through two groups goes once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def first_time(self, key: str) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True


class Limiter(Protocol):
    """A socket's frame limit: ``take()`` lets one frame through, or says no (and spends nothing)."""

    def take(self) -> bool: ...


class JsonLoader(Protocol):
    """The house's bounded JSON loader: refuses what it will not take with a ``ValueError`` saying why."""

    def __call__(self, raw: str, *, max_bytes: int) -> Any: ...


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


def frame_parse(text_data: str | None, *, max_chars: int, load: JsonLoader) -> dict[str, Any]:
    if text_data is None:
        raise FrameError("bad_frame", "Frames are JSON text.")
    if len(text_data) > max_chars:
        raise FrameError("frame_too_large", f"Frames are at most {max_chars} characters.")
    try:
        frame = load(text_data, max_bytes=4 * max_chars)
    except ValueError as rejected:
        raise FrameError("bad_frame", f"A frame is one JSON object: {rejected}.") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("bad_frame", 'A frame is a JSON object with a string "type".')
    return frame


def frame_peek(text_data: str | None, *, max_chars: int, load: JsonLoader) -> dict[str, Any]:
    """The frame if it parses, else ``{}``: for naming a frame that is refused before it is read."""
    try:
        return frame_parse(text_data, max_chars=max_chars, load=load)
    except FrameError:
        return {}


def int_field(frame: dict[str, Any], name: str) -> int:
    value = frame.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise FrameError("bad_field", f'"{name}" must be a non-negative integer.')
    return value


def bool_field(frame: dict[str, Any], name: str) -> bool:
    value = frame.get(name)
    if not isinstance(value, bool):
        raise FrameError("bad_field", f'"{name}" must be true or false.')
    return value


class FrameConsumer(AsyncWebsocketConsumer):
    """Parsing, limits, dispatch and error frames; subclasses name their handlers in ``handlers``."""

    max_frame_chars: ClassVar[int] = 4096
    rate_per_second: ClassVar[float] = 10.0
    rate_burst: ClassVar[float] = 30.0
    # Frames refused for rate before the socket is closed as a flood.
    flood_limit: ClassVar[int] = 100
    # Frame type -> name of the ``async def handler(self, frame)`` method.
    handlers: ClassVar[dict[str, str]] = {}
    # Answer every refused frame that the client named (else only the first and every tenth).
    answer_named_refusals: ClassVar[bool] = False
    rate_message: ClassVar[str] = "Too many frames; slow down."
    internal_message: ClassVar[str] = "The frame could not be handled."

    def frames_start(self, *, load: JsonLoader, limiter: Limiter) -> None:
        """Called first in ``connect``: frames are read with ``load`` and limited by ``limiter``."""
        self.load = load
        self.limiter = limiter
        self.refused = 0

    # --- what a socket decides --------------------------------------------------------------------------

    def hearing(self) -> bool:
        """Whether frames are listened to at all (the socket is set up and not released)."""
        return True

    def echo_of(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Fields of ``frame`` repeated on an error about it, so the client knows which one failed."""
        return {}

    def admit(self, kind: str) -> None:
        """Raise ``FrameError`` for a frame type the socket does not take in its current state."""

    async def flooded(self) -> None:
        await self.close(code=CLOSE_FLOODING)

    async def write_text(self, text: str) -> None:
        await self.send(text_data=text)

    # --- the loop -----------------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.hearing():
            return
        if not self.limiter.take():
            await self._refuse(text_data)
            return
        echo: dict[str, Any] = {}
        try:
            frame = frame_parse(text_data, max_chars=self.max_frame_chars, load=self.load)
            echo = self.echo_of(frame)
            self.admit(frame["type"])
            handler = self.handlers.get(frame["type"])
            if handler is None:
                raise FrameError("unknown_type", f"Unknown frame type {str(frame['type'])[:40]!r}.")
            await getattr(self, handler)(frame)
        except FrameError as error:
            await self.send_error(error.code, str(error), **{**echo, **error.echo})
        except Exception:
            logger.exception("%s frame failed", type(self).__name__)
            await self.send_error("internal", self.internal_message, **echo)

    async def _refuse(self, text_data: str | None) -> None:
        self.refused += 1
        if self.refused >= self.flood_limit:
            await self.flooded()
            return
        echo = self.echo_of(frame_peek(text_data, max_chars=self.max_frame_chars, load=self.load))
        if self.answer_named_refusals and echo:
            await self.send_error("rate_limited", self.rate_message, **echo)
        elif self.refused == 1 or self.refused % 10 == 0:
            await self.send_error("rate_limited", self.rate_message)

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.write_text(encode(frame))

    async def send_error(self, code: str, message: str, **echo: Any) -> None:
        await self.send_frame({"type": "error", "code": code, "message": message, **echo})

"""The web-chat channel's configuration and wire formats, validated at the boundary."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, time
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from channels_in.base import PayloadError
from channels_in.email.addresses import email_address_valid
from channels_in.wire import WireModel, body_parse, payload_validate

SELF = "'self'"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{8,80}$")

DEFAULT_TYPES = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
]

Localized = str | dict[str, str]


def origin_normalize(value: str) -> str:
    """``scheme://host[:port]`` in lower case, as browsers send it in ``Origin``; '' if not an origin."""
    value = value.strip()
    if value == SELF:
        return SELF
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path not in {"", "/"}:
        return ""
    if parts.query or parts.fragment or parts.username:
        return ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


class Hours(BaseModel):
    """One opening interval on some weekdays (0 = Monday), in the channel's time zone."""

    model_config = ConfigDict(extra="forbid")

    days: list[int] = Field(min_length=1)
    start: time
    end: time

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(day not in range(7) for day in value):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return value


class Prechat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Literal["off", "optional", "required"] = "off"
    email: Literal["off", "optional", "required"] = "off"


class WebchatConfig(BaseModel):
    """``ChannelAccount.config`` of a web-chat channel; ``secret`` signs host-site identities.

    The secret is a ``SecretStr``: a repr, a log line or an error page shows it masked.
    """

    model_config = ConfigDict(extra="ignore")

    allowed_origins: list[str] = Field(default_factory=list)
    secret: SecretStr = SecretStr("")
    title: Localized = ""
    greeting: Localized = ""
    launcher_text: Localized = ""
    color: str = "#1f6feb"
    position: Literal["right", "left"] = "right"
    prechat: Prechat = Field(default_factory=Prechat)
    response_minutes: int = Field(default=0, ge=0, le=10_080)
    time_zone: str = "Europe/Rome"
    hours: list[Hours] = Field(default_factory=list)
    fallback_mailbox: str = ""
    max_attachment_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    attachment_types: list[str] = Field(default_factory=lambda: list(DEFAULT_TYPES))
    messages_per_minute: int = Field(default=20, ge=1, le=600)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        cleaned = []
        for item in value:
            origin = origin_normalize(item)
            if not origin:
                raise ValueError(f"{item!r} is not an origin (scheme://host[:port] or 'self')")
            cleaned.append(origin)
        return cleaned

    @field_validator("color")
    @classmethod
    def _colour(cls, value: str) -> str:
        if not _COLOUR.match(value):
            raise ValueError("color is #rrggbb")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def text(self, field: str, language: str) -> str:
        value = getattr(self, field)
        if isinstance(value, str):
            return value
        return value.get(language) or value.get("en") or next(iter(value.values()), "")

    def open_at(self, moment: datetime) -> bool:
        """Inside business hours at ``moment``; a channel without hours is always open."""
        if not self.hours:
            return True
        local = moment.astimezone(ZoneInfo(self.time_zone))
        now = local.time()
        for interval in self.hours:
            if local.weekday() in interval.days and interval.start <= now < interval.end:
                return True
        return False


def config_parse(raw: dict[str, object]) -> WebchatConfig:
    return payload_validate(WebchatConfig, raw, whole="config", label="webchat config")


class AttachmentOut(WireModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(max_length=150)
    content_base64: str

    def content(self) -> bytes:
        try:
            return base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PayloadError("attachment is not valid base64") from exc


class VisitorEvent(WireModel):
    """The body of a web-chat ``InboundEvent``: written by our own socket and upload view.

    Identity fields come from the signed visitor token, never from what the browser typed into a frame.
    """

    model_config = ConfigDict(extra="forbid")

    visitor_id: str
    client_id: str
    text: str = Field(default="", max_length=10_000)
    name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=320)
    verified: bool = False
    verified_email: str = Field(default="", max_length=320)
    origin: str = Field(default="", max_length=300)
    answer_by_email: bool = False
    sent_at: datetime | None = None
    attachments: list[AttachmentOut] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _shape(self) -> VisitorEvent:
        if not _VISITOR_ID.match(self.visitor_id):
            raise ValueError("visitor_id has an unexpected shape")
        if not _CLIENT_ID.match(self.client_id):
            raise ValueError("client_id has an unexpected shape")
        if not (self.text.strip() or self.attachments):
            raise ValueError("a message needs text or an attachment")
        return self


def visitor_event_parse(body: bytes) -> VisitorEvent:
    return body_parse(VisitorEvent, body)


def client_id_valid(value: object) -> bool:
    return isinstance(value, str) and bool(_CLIENT_ID.match(value))


def visitor_id_valid(value: object) -> bool:
    return isinstance(value, str) and bool(_VISITOR_ID.match(value))


def email_valid(value: str) -> bool:
    """An address the fallback mailbox could answer: the email channel's own judgement."""
    return email_address_valid(value)

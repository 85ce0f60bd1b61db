"""The generic API channel's configuration and wire format, validated at the boundary."""

from __future__ import annotations

import base64
import binascii

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    field_validator,
    model_validator,
)

from channels_in.email.addresses import email_address_valid
from channels_in.wire import WireModel, body_parse
from tickets.moments import ClientMoment


class ApiConfig(BaseModel):
    """``ChannelAccount.config`` of an API channel (docs/channels/api.md); the secrets show masked."""

    model_config = ConfigDict(extra="ignore")

    token: SecretStr = SecretStr("")
    secret: SecretStr = SecretStr("")
    callback_url: str = Field(default="", max_length=2000)
    callback_timeout: float = Field(default=10.0, gt=0, le=600)
    trust_identities: bool = False

    @field_validator("callback_url")
    @classmethod
    def _callback_shape(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("the callback URL starts with http:// or https://")
        return value


class Sender(WireModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=320)
    phone: str = Field(default="", max_length=40)

    @model_validator(mode="after")
    def _email_shape(self) -> Sender:
        # It becomes an email identity agents may answer: only an address a reply can reach.
        if self.email and not email_address_valid(self.email):
            raise ValueError("sender.email is not an email address")
        return self


class AttachmentIn(WireModel):
    # The schema's oneOf says what ``_one_source`` checks, for the OpenAPI description.
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "oneOf": [
                {"required": ["url"], "properties": {"url": {"type": "string"}}},
                {"required": ["content_base64"], "properties": {"content_base64": {"type": "string"}}},
            ]
        },
    )

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=150)
    url: HttpUrl | None = None
    content_base64: str | None = None

    @field_validator("content_base64")
    @classmethod
    def _is_base64(cls, value: str | None) -> str | None:
        # Checked here so a bad attachment is a 400 at the door, not a failed event later.
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError("not valid base64") from exc
        return value

    @model_validator(mode="after")
    def _one_source(self) -> AttachmentIn:
        if (self.url is None) == (self.content_base64 is None):
            raise ValueError("give exactly one of url or content_base64")
        return self

    def content(self) -> bytes | None:
        if self.content_base64 is None:
            return None
        return base64.b64decode(self.content_base64, validate=True)


class InboundPayload(WireModel):
    # The schema's anyOf says what ``_has_content`` checks, for the OpenAPI description.
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "anyOf": [
                {"required": ["text"], "properties": {"text": {"pattern": r"\S"}}},
                {"required": ["html"], "properties": {"html": {"pattern": r"\S"}}},
                {"required": ["attachments"], "properties": {"attachments": {"minItems": 1}}},
            ]
        },
    )

    message_id: str = Field(min_length=1, max_length=300)
    sender: Sender
    text: str = Field(default="", max_length=100_000)
    html: str = Field(default="", max_length=1_000_000)
    subject: str = Field(default="", max_length=300)
    sent_at: ClientMoment | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _has_content(self) -> InboundPayload:
        if not (self.text.strip() or self.html.strip() or self.attachments):
            raise ValueError("a message needs text, html or attachments")
        return self


def payload_parse(body: bytes) -> InboundPayload:
    """Parse and validate; a problem raises PayloadError naming the field."""
    return body_parse(InboundPayload, body)

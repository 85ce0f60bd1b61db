"""What every channel's wire models share: NUL-free text, and one way a validation error is reported.

A provider payload or a channel's configuration is validated by pydantic at the boundary; the first
problem becomes one line naming the field (``sender.email: value is not an email address``), which the
view answers with (400) or the drain records as the event's failure.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError, field_validator

from channels_in.base import PayloadError
from tickets.jsonload import JsonRejected, json_load

Model = TypeVar("Model", bound=BaseModel)


class WireModel(BaseModel):
    """A model of text from outside: NUL characters are dropped from every string field."""

    @field_validator("*", mode="before")
    @classmethod
    def _without_nul(cls, value: object) -> object:
        # PostgreSQL text cannot hold NUL: left in, the message would be accepted here and fail forever
        # later, at ingest.
        return value.replace("\x00", "") if isinstance(value, str) else value


def validation_reason(error: ValidationError, *, whole: str) -> str:
    """The first problem of ``error`` as ``field.path: message`` (``whole`` when it is the whole value)."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or whole
    return f"{where}: {first['msg']}"


def payload_validate(model: type[Model], raw: object, *, whole: str = "body", label: str = "") -> Model:
    """``raw`` as ``model``, or ``PayloadError`` naming the first field at fault (after ``label``)."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        reason = validation_reason(error, whole=whole)
        raise PayloadError(f"{label} {reason}" if label else reason) from error


def body_parse(model: type[Model], body: bytes) -> Model:
    """A JSON body, read by the bounded loader and validated as ``model``; ``PayloadError`` if not."""
    try:
        raw = json_load(body)
    except JsonRejected as rejected:
        raise PayloadError(f"body: {rejected.reason}") from None
    return payload_validate(model, raw)

"""A mailbox's configuration (``ChannelAccount.config`` of an email channel), validated."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.json_schema import JsonDict

from channels_in.email.quotes import DEFAULT_LANGUAGES
from channels_in.wire import validation_reason

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")
# Marks a secret field (channels_in.registry.secret_fields): the admin never shows its value.
SECRET: JsonDict = {"secret": True}


class MailboxConfigError(ValueError):
    pass


def _secret(value: str, path: str) -> str:
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise MailboxConfigError(f"password file {path!r} cannot be read: {exc.strerror}") from exc
    return value


class ImapConfig(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    host: str = Field(min_length=1)
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: str = Field(min_length=1)
    password: str = Field(default="", repr=False, json_schema_extra=SECRET)
    password_file: str = ""
    folder: str = "INBOX"
    # Where handled mail is moved; empty keeps it in ``folder``, flagged \Seen.
    processed_folder: str = ""
    idle: bool = True
    timeout: float = Field(default=30.0, gt=0, le=600)

    def secret(self) -> str:
        return _secret(self.password, self.password_file)


class SmtpConfig(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "starttls"
    username: str = ""
    password: str = Field(default="", repr=False, json_schema_extra=SECRET)
    password_file: str = ""
    timeout: float = Field(default=30.0, gt=0, le=600)

    def secret(self) -> str:
        return _secret(self.password, self.password_file)


class MailboxConfig(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    address: str
    from_name: str = ""
    # Replies go to support+<ticket token>@domain: the token threads them even when a client drops
    # In-Reply-To and the subject has been rewritten.
    plus_addressing: bool = False
    # Further addresses that are ours (aliases, the no-reply sender): mail from them is never a customer.
    own_addresses: list[str] = Field(default_factory=list)
    imap: ImapConfig | None = None
    # Without it, mail goes out through ``email_backend`` if set (any Django backend, e.g. an Anymail
    # ESP's "anymail.backends.mailgun.EmailBackend"), else through the EMAIL_BACKEND setting.
    smtp: SmtpConfig | None = None
    email_backend: str = ""
    inbound_token: str = Field(default="", repr=False, json_schema_extra=SECRET)
    acknowledge: bool = False
    acknowledge_response_time: str = ""
    auto_reply_limit_per_hour: int = Field(default=3, ge=0)
    languages: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGUAGES))

    @field_validator("address")
    @classmethod
    def _address_shape(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError("not an email address")
        return value.lower()

    @property
    def local_part(self) -> str:
        return self.address.split("@", 1)[0]

    @property
    def domain(self) -> str:
        return self.address.split("@", 1)[1]

    def reply_address(self, token: str) -> str:
        if self.plus_addressing and token:
            return f"{self.local_part}+{token}@{self.domain}"
        return self.address

    def is_ours(self, address: str) -> bool:
        address = address.strip().lower()
        ours = {self.address, *(item.lower() for item in self.own_addresses)}
        if address in ours:
            return True
        local, _, domain = address.partition("@")
        return f"{local.split('+', 1)[0]}@{domain}" in ours


def mailbox_config(config: dict[str, object]) -> MailboxConfig:
    try:
        return MailboxConfig.model_validate(config)
    except ValidationError as exc:
        raise MailboxConfigError(f"mailbox config {validation_reason(exc, whole='config')}") from exc

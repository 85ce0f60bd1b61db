"""Start-up and deploy checks: an ESP inbound webhook enabled but not authenticated is said out loud."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

from channels_in.email.esp import INBOUND_ESPS, esp_missing, webhook_secrets

# A shared secret anyone could guess is no authentication: the password part should be random.
_STRONG_PASSWORD = 20


@register(Tags.security)
def esp_inbound_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Runs at start-up (migrate, runserver) and with ``check --deploy``."""
    found: list[CheckMessage] = []
    for name in settings.EMAIL_INBOUND_ESPS:
        esp = INBOUND_ESPS.get(name)
        missing = esp_missing(esp) if esp is not None else [f"a known ESP name ({sorted(INBOUND_ESPS)})"]
        if missing:
            found.append(
                Warning(
                    f"The {esp.label if esp else name} inbound webhook is enabled in EMAIL_INBOUND_ESPS "
                    f"but not authenticated or not runnable: {', '.join(missing)} missing. "
                    "Its endpoint answers 404 until then, and the ESP's mail does not arrive.",
                    hint="Set the ESP's secret (docs/channels/email.md) or drop it from EMAIL_INBOUND_ESPS.",
                    id="sportello.email.W001",
                )
            )
    if not settings.EMAIL_INBOUND_ESPS and webhook_secrets():
        found.append(
            Warning(
                "ANYMAIL_WEBHOOK_SECRET is set but EMAIL_INBOUND_ESPS names no ESP: "
                "no ESP inbound webhook exists.",
                hint="List the ESPs that post mail here, e.g. EMAIL_INBOUND_ESPS=postmark.",
                id="sportello.email.W002",
            )
        )
    return found


@register(Tags.security, deploy=True)
def esp_inbound_secret_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Only with ``check --deploy``: a shared secret short enough to guess."""
    basic_auth_esps = [
        esp.label
        for name in settings.EMAIL_INBOUND_ESPS
        if (esp := INBOUND_ESPS.get(name)) is not None and esp.basic_auth
    ]
    weak = [secret for secret in webhook_secrets() if len(secret.partition(":")[2]) < _STRONG_PASSWORD]
    if not (basic_auth_esps and weak):
        return []
    return [
        Warning(
            f"ANYMAIL_WEBHOOK_SECRET's password is shorter than {_STRONG_PASSWORD} characters; "
            f"it alone authenticates the inbound webhooks of {', '.join(basic_auth_esps)}.",
            hint="Use a long random password: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            id="sportello.email.W003",
        )
    ]

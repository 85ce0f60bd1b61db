"""The ESPs whose inbound webhooks (Anymail's views) may post mail here, and what each needs first.

An ESP's endpoint exists only when it is listed in ``EMAIL_INBOUND_ESPS`` *and* Anymail can
authenticate its posts: by the shared ``WEBHOOK_SECRET`` (HTTP basic auth) where that is the ESP's
scheme, by the ESP's own signing key where it has one and Anymail needs it. Anymail itself accepts
any post when no secret is set, and answers 500 when a required key is missing, so neither case may
reach its views.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from anymail.utils import get_anymail_setting
from django.conf import settings


@dataclass(frozen=True)
class InboundEsp:
    name: str  # as listed in EMAIL_INBOUND_ESPS
    label: str
    routes: tuple[str, ...]  # under email/anymail/, as Anymail's own urls name them
    view: str  # module:class of Anymail's inbound view
    # The ESP's own signature key (Anymail's setting name), and whether Anymail cannot run without it.
    signing_key: str = ""
    signing_required: bool = False
    # Whether the shared basic-auth secret alone authenticates the ESP's posts.
    basic_auth: bool = True
    # Settings the view needs to fetch the mail from the ESP, read as Anymail reads them.
    needs: tuple[str, ...] = ()
    # Packages the view imports on use; the second is needed only with the signing key.
    packages: tuple[str, ...] = ()
    signing_packages: tuple[str, ...] = ()


INBOUND_ESPS: dict[str, InboundEsp] = {
    esp.name: esp
    for esp in (
        InboundEsp(
            "amazon_ses",
            "Amazon SES",
            ("amazon_ses/inbound/",),
            "anymail.webhooks.amazon_ses:AmazonSESInboundWebhookView",
            packages=("boto3",),
        ),
        InboundEsp(
            "brevo",
            "Brevo",
            ("brevo/inbound/", "sendinblue/inbound/"),
            "anymail.webhooks.brevo:BrevoInboundWebhookView",
            needs=("BREVO_API_KEY",),
        ),
        InboundEsp(
            "mailersend",
            "MailerSend",
            ("mailersend/inbound/",),
            "anymail.webhooks.mailersend:MailerSendInboundWebhookView",
            signing_key="MAILERSEND_INBOUND_SECRET",
            signing_required=True,
            basic_auth=False,
        ),
        InboundEsp(
            "mailgun",
            "Mailgun",
            ("mailgun/inbound/", "mailgun/inbound_mime/"),
            "anymail.webhooks.mailgun:MailgunInboundWebhookView",
            signing_key="MAILGUN_WEBHOOK_SIGNING_KEY",
            signing_required=True,
            basic_auth=False,
        ),
        InboundEsp(
            "mailjet", "Mailjet", ("mailjet/inbound/",), "anymail.webhooks.mailjet:MailjetInboundWebhookView"
        ),
        InboundEsp(
            "mailtrap",
            "Mailtrap",
            ("mailtrap/inbound/",),
            "anymail.webhooks.mailtrap:MailtrapInboundWebhookView",
            signing_key="MAILTRAP_INBOUND_SECRET",
            needs=("MAILTRAP_API_TOKEN",),
        ),
        InboundEsp(
            "mandrill",
            "Mandrill",
            ("mandrill/",),
            "anymail.webhooks.mandrill:MandrillCombinedWebhookView",
            signing_key="MANDRILL_WEBHOOK_KEY",
            signing_required=True,
            basic_auth=False,
        ),
        InboundEsp(
            "postal",
            "Postal",
            ("postal/inbound/",),
            "anymail.webhooks.postal:PostalInboundWebhookView",
            signing_key="POSTAL_WEBHOOK_KEY",
            signing_required=True,
            basic_auth=False,
            signing_packages=("cryptography",),
        ),
        InboundEsp(
            "postmark",
            "Postmark",
            ("postmark/inbound/",),
            "anymail.webhooks.postmark:PostmarkInboundWebhookView",
        ),
        InboundEsp(
            "resend",
            "Resend",
            ("resend/inbound/",),
            "anymail.webhooks.resend:ResendInboundWebhookView",
            signing_key="RESEND_INBOUND_SECRET",
            needs=("RESEND_API_KEY",),
            signing_packages=("svix",),
        ),
        InboundEsp(
            "sendgrid",
            "SendGrid",
            ("sendgrid/inbound/",),
            "anymail.webhooks.sendgrid:SendGridInboundWebhookView",
        ),
        InboundEsp(
            "sparkpost",
            "SparkPost",
            ("sparkpost/inbound/",),
            "anymail.webhooks.sparkpost:SparkPostInboundWebhookView",
        ),
    )
}


def anymail_setting(name: str) -> Any:
    """An Anymail setting as its views read it: ``ANYMAIL[name]``, ``ANYMAIL_<name>`` or ``<name>``."""
    return get_anymail_setting(name.lower(), default=None, allow_bare=name != "WEBHOOK_SECRET")


def webhook_secrets() -> list[str]:
    secret = anymail_setting("WEBHOOK_SECRET")
    if isinstance(secret, str):
        return [secret] if secret else []
    return [str(item) for item in secret or [] if item]


def esp_missing(esp: InboundEsp) -> list[str]:
    """What keeps the ESP's endpoint from existing; empty when it is authenticated and can run."""
    missing: list[str] = []
    signed = bool(esp.signing_key and anymail_setting(esp.signing_key))
    if esp.signing_required and not signed:
        missing.append(f"ANYMAIL_{esp.signing_key}")
    elif not signed and not (esp.basic_auth and webhook_secrets()):
        missing.append(
            "ANYMAIL_WEBHOOK_SECRET" + (f" or ANYMAIL_{esp.signing_key}" if esp.signing_key else "")
        )
    missing += [f"ANYMAIL_{name}" for name in esp.needs if not anymail_setting(name)]
    packages = [*esp.packages, *(esp.signing_packages if signed else ())]
    missing += [f"the {package} package" for package in packages if find_spec(package) is None]
    return missing


def esp_served(name: str) -> InboundEsp | None:
    """The ESP if its endpoint exists now (enabled, authenticated, runnable), else None."""
    esp = INBOUND_ESPS.get(name)
    if esp is None or name not in settings.EMAIL_INBOUND_ESPS or esp_missing(esp):
        return None
    return esp


@cache
def view_class(esp: InboundEsp) -> type:
    module_name, class_name = esp.view.split(":")
    return getattr(import_module(module_name), class_name)

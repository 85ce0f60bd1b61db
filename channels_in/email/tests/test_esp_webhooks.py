"""Which ESP inbound webhooks exist: only those enabled and authenticated, refusing every other post."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.test import Client

from channels_in.email.esp import INBOUND_ESPS
from channels_in.email.tests.mails import mail
from channels_in.models import ChannelAccount, InboundEvent
from tests.test_settings import start
from tickets.models import Message

pytestmark = pytest.mark.django_db

BASE = "/api/v1/inbound/email/anymail/"
# Every inbound URL Anymail offers, and the ESP name that enables it.
INBOUND_URLS = [
    ("amazon_ses", "amazon_ses/inbound/"),
    ("brevo", "brevo/inbound/"),
    ("brevo", "sendinblue/inbound/"),
    ("mailersend", "mailersend/inbound/"),
    ("mailgun", "mailgun/inbound/"),
    ("mailgun", "mailgun/inbound_mime/"),
    ("mailjet", "mailjet/inbound/"),
    ("mailtrap", "mailtrap/inbound/"),
    ("mandrill", "mandrill/"),
    ("postal", "postal/inbound/"),
    ("postmark", "postmark/inbound/"),
    ("resend", "resend/inbound/"),
    ("sendgrid", "sendgrid/inbound/"),
    ("sparkpost", "sparkpost/inbound/"),
]
ESP_NAMES = sorted({name for name, _url in INBOUND_URLS})


def _basic(credentials: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def _postmark(message_id: str = "<pm-9@example.org>") -> str:
    return json.dumps(
        {
            "FromFull": {"Email": "luca@example.org", "Name": "Luca Bianchi"},
            "ToFull": [{"Email": "support@example.com", "Name": ""}],
            "Subject": "Reso",
            "TextBody": "Vorrei restituire le scarpe.",
            "Headers": [{"Name": "Message-ID", "Value": message_id}],
        }
    )


def _mailgun_signed(key: bytes, fields: dict[str, str]) -> dict[str, str]:
    timestamp, token = str(int(time.time())), "b" * 50
    signature = hmac.new(key, f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {**fields, "timestamp": timestamp, "token": token, "signature": signature}


def _nothing_stored() -> bool:
    return not InboundEvent.objects.exists() and not Message.objects.exists()


def _attempts(client: Client, url: str) -> list[int]:
    """A customer-looking mail posted the ways the ESPs post: JSON, a form, raw MIME."""
    raw = mail(sender="Mallory <maria@example.com>").decode()
    answers = [
        client.post(BASE + url, _postmark(), content_type="application/json"),
        client.post(BASE + url, {"body-mime": raw, "email": raw, "recipient": "support@example.com"}),
        client.post(BASE + url, raw, content_type="message/rfc822"),
    ]
    return [answer.status_code for answer in answers]


@pytest.mark.parametrize(("esp", "url"), INBOUND_URLS)
def test_no_esp_webhook_exists_while_none_is_enabled(
    client: Client, mailbox: ChannelAccount, settings: Any, esp: str, url: str
) -> None:
    settings.EMAIL_INBOUND_ESPS = []
    settings.ANYMAIL = {"WEBHOOK_SECRET": "esp:hook-secret"}

    assert _attempts(client, url) == [404, 404, 404]
    assert _nothing_stored()


@pytest.mark.parametrize(("esp", "url"), INBOUND_URLS)
def test_an_enabled_esp_without_its_secret_does_not_exist(
    client: Client, mailbox: ChannelAccount, settings: Any, esp: str, url: str
) -> None:
    settings.EMAIL_INBOUND_ESPS = ESP_NAMES
    settings.ANYMAIL = {}

    assert _attempts(client, url) == [404, 404, 404]
    assert _nothing_stored()


def test_mailgun_without_its_signing_key_is_not_a_server_error(
    client: Client, mailbox: ChannelAccount, settings: Any
) -> None:
    # Basic auth alone does not run Mailgun's view: it needs its signing key to check the signature.
    settings.EMAIL_INBOUND_ESPS = ["mailgun"]
    settings.ANYMAIL = {"WEBHOOK_SECRET": "esp:hook-secret"}
    fields = _mailgun_signed(b"guess", {"body-mime": mail().decode()})

    response = client.post(BASE + "mailgun/inbound_mime/", fields, **_basic("esp:hook-secret"))

    assert response.status_code == 404
    assert _nothing_stored()


def test_tracking_webhooks_do_not_exist(client: Client, mailbox: ChannelAccount, settings: Any) -> None:
    # Nothing here listens to delivery tracking: an endpoint that does nothing is only a door.
    settings.EMAIL_INBOUND_ESPS = ["postmark"]
    settings.ANYMAIL = {"WEBHOOK_SECRET": "esp:hook-secret"}

    response = client.post(
        BASE + "postmark/tracking/", "{}", content_type="application/json", **_basic("esp:hook-secret")
    )

    assert response.status_code == 404


@pytest.fixture
def postmark(settings: Any) -> None:
    settings.EMAIL_INBOUND_ESPS = ["postmark"]
    settings.ANYMAIL = {"WEBHOOK_SECRET": "esp:hook-secret"}


@pytest.mark.usefixtures("postmark")
def test_postmark_with_its_secret_files_the_mail(
    client: Client, mailbox: ChannelAccount, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            BASE + "postmark/inbound/",
            _postmark(),
            content_type="application/json",
            **_basic("esp:hook-secret"),
        )

    assert response.status_code == 200
    assert Message.objects.get().identity.value == "luca@example.org"


@pytest.mark.usefixtures("postmark")
@pytest.mark.parametrize("credentials", [None, "esp:wrong", "someone:hook-secret"])
def test_postmark_with_wrong_credentials_is_unauthorized(
    client: Client, mailbox: ChannelAccount, credentials: str | None
) -> None:
    auth = _basic(credentials) if credentials else {}

    response = client.post(BASE + "postmark/inbound/", _postmark(), content_type="application/json", **auth)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert _nothing_stored()


@pytest.mark.usefixtures("postmark")
def test_a_malformed_payload_is_a_bad_request(client: Client, mailbox: ChannelAccount) -> None:
    response = client.post(
        BASE + "postmark/inbound/", "{not json", content_type="application/json", **_basic("esp:hook-secret")
    )

    assert response.status_code == 400
    assert _nothing_stored()


def test_mailgun_with_its_signing_key_files_the_mail_and_refuses_a_wrong_signature(
    client: Client, mailbox: ChannelAccount, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_INBOUND_ESPS = ["mailgun"]
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-key"}
    url = BASE + "mailgun/inbound_mime/"

    forged = client.post(url, _mailgun_signed(b"not-the-key", {"body-mime": mail().decode()}))
    assert forged.status_code == 401
    assert _nothing_stored()

    with django_capture_on_commit_callbacks(execute=True):
        signed = client.post(url, _mailgun_signed(b"mailgun-key", {"body-mime": mail().decode()}))
    assert signed.status_code == 200
    assert Message.objects.get().identity.value == "maria@example.com"


def test_a_webhook_without_a_mailbox_to_file_into_does_not_exist(
    client: Client, settings: Any, postmark: None
) -> None:
    response = client.post(
        BASE + "postmark/inbound/", _postmark(), content_type="application/json", **_basic("esp:hook-secret")
    )

    assert response.status_code == 404
    assert not InboundEvent.objects.exists()


def _check_ids(*, deploy: bool = False) -> dict[str, str]:
    found = checks.run_checks(tags=[checks.Tags.security], include_deployment_checks=deploy)
    return {message.id or "": message.msg for message in found if (message.id or "").startswith("sportello")}


def test_start_up_and_deploy_checks_warn_of_an_enabled_unauthenticated_esp(settings: Any) -> None:
    settings.EMAIL_INBOUND_ESPS = ["postmark", "mailgun"]
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-key"}

    for found in (_check_ids(), _check_ids(deploy=True)):
        assert "sportello.email.W001" in found
        assert "postmark" in found["sportello.email.W001"].lower()
        assert "mailgun" not in found["sportello.email.W001"].lower()


def test_checks_are_quiet_when_every_enabled_esp_is_authenticated(settings: Any) -> None:
    settings.EMAIL_INBOUND_ESPS = ["postmark", "mailgun"]
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": "esp:a-long-random-shared-secret",
        "MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-key",
    }

    assert not [key for key in _check_ids(deploy=True) if key.startswith("sportello.email")]


def test_deploy_check_warns_of_a_guessable_shared_secret(settings: Any) -> None:
    settings.EMAIL_INBOUND_ESPS = ["postmark"]
    settings.ANYMAIL = {"WEBHOOK_SECRET": "esp:secret"}

    assert "sportello.email.W003" not in _check_ids()
    assert "sportello.email.W003" in _check_ids(deploy=True)


def test_a_secret_set_with_no_esp_enabled_is_pointed_out(settings: Any) -> None:
    settings.EMAIL_INBOUND_ESPS = []
    settings.ANYMAIL = {"WEBHOOK_SECRET": "esp:a-long-random-shared-secret"}

    assert "sportello.email.W002" in _check_ids()


def test_every_esp_anymail_serves_inbound_can_be_enabled() -> None:
    from helpdesk.settings import base

    assert set(INBOUND_ESPS) == base._INBOUND_ESP_NAMES == set(ESP_NAMES)


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"EMAIL_INBOUND_ESPS": "postmark,gmail"}, "EMAIL_INBOUND_ESPS"),
        ({"ANYMAIL_WEBHOOK_SECRET": "no-user-part"}, "ANYMAIL_WEBHOOK_SECRET"),
    ],
)
def test_a_bad_inbound_setting_stops_start_up(tmp_path: Path, variables: dict[str, str], named: str) -> None:
    started = start(tmp_path, **variables)

    assert started.returncode != 0
    assert named in started.stderr


def test_esp_keys_come_from_the_environment(tmp_path: Path) -> None:
    started = start(
        tmp_path,
        "ANYMAIL",
        EMAIL_INBOUND_ESPS="mailgun",
        ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY="mailgun-key",
        ANYMAIL_WEBHOOK_SECRET="esp:hook-secret",
    )

    assert started.returncode == 0, started.stderr
    assert "'MAILGUN_WEBHOOK_SIGNING_KEY': 'mailgun-key'" in started.stdout
    assert "'WEBHOOK_SECRET': 'esp:hook-secret'" in started.stdout


def test_a_nesting_bomb_through_a_webhook_is_a_bad_request_not_a_crash(
    client: Client, mailbox: ChannelAccount, settings: Any
) -> None:
    from channels_in.email.tests.test_bad_input import _nested_multiparts

    settings.EMAIL_INBOUND_ESPS = ["mailgun"]
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-key"}
    # The ESP's own parsing reads the MIME before Sportello sees it, and recurses once per level.
    bomb = _nested_multiparts(5_000).decode()

    response = client.post(
        BASE + "mailgun/inbound_mime/", _mailgun_signed(b"mailgun-key", {"body-mime": bomb})
    )

    assert response.status_code == 400
    assert _nothing_stored()

"""The API channel's endpoint as the OpenAPI schema describes it, and the schema against the real view."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from jsonschema import Draft4Validator
from openapi_spec_validator import validate

from channels_in.api.tests.wire import inbound_url, payload, post
from channels_in.models import ChannelAccount

PATH = "/api/v1/inbound/{channel_key}/messages"


@pytest.fixture
def schema(db: None) -> dict[str, Any]:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with every ``$ref`` replaced by its component, for a plain JSON Schema validator."""
    text = json.dumps(node)
    for _ in range(5):
        for name, component in schema["components"]["schemas"].items():
            text = text.replace(json.dumps({"$ref": f"#/components/schemas/{name}"}), json.dumps(component))
    return json.loads(text)


def test_the_inbound_endpoint_is_documented_with_every_answer(schema: dict[str, Any]) -> None:
    validate(schema)
    operation = schema["paths"][PATH]["post"]

    assert set(schema["paths"][PATH]) == {"post"}
    assert set(operation["responses"]) == {"202", "400", "401", "404", "413", "415"}
    assert operation["security"] == [{"apiChannelToken": []}, {"apiChannelSignature": []}]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiChannelToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["apiChannelToken"]["description"],
    }
    assert schemes["apiChannelSignature"]["name"] == "X-Sportello-Signature"
    body = operation["requestBody"]
    assert body["required"] is True and set(body["content"]) == {"application/json"}
    payload_schema = _resolved(schema, body["content"]["application/json"]["schema"])
    assert payload_schema["required"] == ["message_id", "sender"]
    assert payload_schema["properties"]["sender"]["required"] == ["id"]
    assert payload_schema["properties"]["sent_at"] == {
        "format": "date-time",
        "type": "string",
        "nullable": True,
        "default": None,
    }
    # The other endpoints keep DRF's own security schemes.
    assert "apiChannelToken" not in json.dumps(schema["paths"]["/api/v1/tickets"])


@pytest.mark.django_db
def test_what_the_view_answers_is_what_the_schema_says(
    schema: dict[str, Any], api_channel: ChannelAccount
) -> None:
    client = Client()
    operation = schema["paths"][PATH]["post"]
    unknown = ChannelAccount(kind=ChannelAccount.Kind.API, key="nope", config=api_channel.config)
    answers = {
        "202": post(client, api_channel, payload("m-1")),
        "400": post(client, api_channel, payload(sender={})),
        "401": post(client, api_channel, payload(), auth="none"),
        "404": post(client, unknown, payload()),
        "415": client.post(
            inbound_url(api_channel),
            data=b"{}",
            content_type="text/plain",
            headers={"Authorization": f"Bearer {api_channel.config['token']}"},
        ),
    }
    for status, response in answers.items():
        assert str(response.status_code) == status
        documented = operation["responses"][status]["content"]
        assert response["Content-Type"] in documented
        Draft4Validator(_resolved(schema, documented["application/json"]["schema"])).validate(response.json())


@pytest.mark.django_db
def test_the_documented_body_refuses_what_the_view_refuses(
    schema: dict[str, Any], api_channel: ChannelAccount
) -> None:
    body = schema["paths"][PATH]["post"]["requestBody"]["content"]["application/json"]
    validator = Draft4Validator(_resolved(schema, body["schema"]))

    validator.validate(payload("m-1", sent_at="2026-11-22T10:15:00+01:00"))
    validator.validate(payload(attachments=[{"filename": "a.pdf", "url": "https://files.example.com/a.pdf"}]))
    validator.validate(payload(text="", html="<p>Ciao</p>"))
    validator.validate(payload(text="", attachments=[{"filename": "a.txt", "content_base64": "aGk="}]))
    refused = [
        {"sender": {"id": "x"}, "text": "hi"},
        payload(text=" \n", html=""),
        payload(attachments=[{"filename": "a.txt"}]),
        payload(attachments=[{"filename": "a.txt", "content_base64": "aGk=", "url": "https://x.example/a"}]),
        payload(attachments=[{"filename": "a.txt", "content_base64": "aGk="}] * 21),
    ]
    for body in refused:
        assert list(validator.iter_errors(body)), body
        assert post(Client(), api_channel, body).status_code == 400, body

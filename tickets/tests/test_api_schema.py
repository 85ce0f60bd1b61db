from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate

from tickets.tests.api_support import client_for


@pytest.mark.django_db
def test_schema_is_valid_openapi_3_and_documents_the_api() -> None:
    response = Client().get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/tickets/{ticket_id}/messages",
        "/api/v1/tickets/{ticket_id}/reply",
        "/api/v1/tickets/{ticket_id}/notes",
        "/api/v1/messages/{message_id}/retry",
        "/api/v1/messages/{message_id}/split",
        "/api/v1/attachments/{attachment_id}",
        "/api/v1/contacts",
        "/api/v1/contacts/{contact_id}/merge",
        "/api/v1/contact-merges/{merge_id}/undo",
        "/api/v1/teams",
        "/api/v1/agents/me",
        "/api/v1/canned-responses/{response_id}",
    ):
        assert path in schema["paths"], path
    ticket_filters = {
        parameter["name"] for parameter in schema["paths"]["/api/v1/tickets"]["get"]["parameters"]
    }
    assert ticket_filters == {
        "status",
        "team",
        "assignee",
        "channel",
        "priority",
        "tag",
        "q",
        "sort",
        "cursor",
        "page_size",
    }
    assert "409" in schema["paths"]["/api/v1/tickets/{ticket_id}"]["patch"]["responses"]
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


@pytest.mark.django_db
def test_schema_generation_has_no_warnings_or_errors() -> None:
    GENERATOR_STATS.reset()

    SchemaGenerator().get_schema(request=None, public=True)

    assert not GENERATOR_STATS, {**GENERATOR_STATS._warn_cache, **GENERATOR_STATS._error_cache}


@pytest.mark.django_db
def test_interactive_docs_are_served_from_our_own_static_files(alice) -> None:  # type: ignore[no-untyped-def]
    response = client_for(alice).get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    scripts_and_styles = [url for url in assets if url.endswith((".js", ".css", ".png"))]
    assert any(url.endswith("swagger-ui-bundle.js") for url in scripts_and_styles)
    for url in scripts_and_styles:
        # Every asset is ours, so the page works with no internet access.
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), url
    assert "cdn" not in page.lower()


@pytest.mark.django_db(transaction=True)
def test_docs_page_and_its_assets_load_from_a_running_server(live_server) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        page = http.get("/api/docs/")
        assert page.status_code == 200
        assets = [
            url for url in re.findall(r'(?:src|href)="([^"]+)"', page.text) if url.startswith("/static/")
        ]
        assert len(assets) >= 3
        for url in assets:
            asset = http.get(url)
            assert asset.status_code == 200, url
            assert asset.content, url
        schema = http.get("/api/schema/", params={"format": "json"})
        assert schema.status_code == 200 and schema.json()["info"]["title"] == "Sportello API"


def _component(response: dict[str, Any]) -> str:
    return response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


@pytest.mark.django_db
def test_every_operation_documents_the_errors_it_can_answer() -> None:
    schema = Client().get("/api/schema/", {"format": "json"}).json()

    rest = {path: item for path, item in schema["paths"].items() if not path.startswith("/api/v1/inbound/")}
    for path, item in rest.items():
        for method, operation in item.items():
            where, responses = f"{method} {path}", operation["responses"]
            assert _component(responses["401"]) == "Error", where
            assert _component(responses["403"]) == "Error", where
            if "{" in path:
                assert _component(responses["404"]) == "Error", where
            if "requestBody" in operation:
                assert "415" in responses, where
            if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
                assert "content" in responses["400"], where
            for status, response in responses.items():
                assert status < "400" or "content" in response, (where, status)
    split = schema["paths"]["/api/v1/messages/{message_id}/split"]["post"]["responses"]
    assert _component(split["400"]) == "ValidationError"
    assert schema["components"]["schemas"]["ValidationError"]["properties"]["detail"] == {"type": "string"}
    feed = schema["paths"]["/api/v1/live/feed"]["get"]["responses"]["400"]["content"]["application/json"]
    assert feed["schema"]["additionalProperties"] == {"type": "string"}

"""Error answers: our own pages in the reader's language, showing nothing inside, and JSON in the
shape of the API for addresses under it that no view answers."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.utils import translation
from django.views.defaults import server_error


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "title"), [("en", "Page not found"), ("it", "Pagina non trovata")])
def test_a_missing_page_is_our_own_page(client: Client, language: str, title: str) -> None:
    response = client.get("/no/such/page/", headers={"Accept-Language": language})

    assert response.status_code == 404
    page = response.content.decode()
    assert title in page and 'href="/"' in page
    assert "urlpatterns" not in page and "Traceback" not in page


@pytest.mark.parametrize(
    ("language", "title"), [("en", "Something went wrong"), ("it", "Qualcosa è andato storto")]
)
def test_a_server_error_is_our_own_page(language: str, title: str) -> None:
    with translation.override(language):
        response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert title in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/tickets/abc", "/api/v1/tickets/-1/messages", "/api/v1/nowhere", "/api/v2/tickets"]
)
def test_an_unknown_api_address_is_a_json_404_with_detail(path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


@pytest.mark.django_db
def test_an_unknown_inbound_address_is_a_json_404_with_error() -> None:
    response = Client().post("/api/v1/inbound/not a key/messages", b"{}", content_type="application/json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"error"}


@pytest.mark.django_db
def test_an_unknown_page_is_still_a_page() -> None:
    response = Client().get("/nowhere")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_request_django_refuses_under_the_api_is_a_json_400(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    response = Client().get("/api/v1/tickets", {f"f{number}": "x" for number in range(5)})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}

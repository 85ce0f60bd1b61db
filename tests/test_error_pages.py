"""With DEBUG off, errors answer with our own pages, in the reader's language, showing nothing inside."""

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

"""Stored files leave only through the access-checked views, never straight from the media folder."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import clear_url_caches

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tests.fixtures.files import PDF
from tickets.models import Attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug_urls(settings: Any, media_tmp: Path) -> Iterator[None]:
    """The URL patterns as a process with DEBUG on builds them (the embedded default), this test's
    media folder included."""
    import helpdesk.urls

    settings.DEBUG = True
    importlib.reload(helpdesk.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(helpdesk.urls)
    clear_url_caches()


@pytest.fixture
def stored(media_tmp: Path, api_channel: ChannelAccount) -> Attachment:
    message = customer_writes(api_channel, "the return label").messages.get()
    row = Attachment(
        message=message, filename="label.pdf", content_type="application/pdf", size=len(PDF), sha256="ab" * 32
    )
    row.file.save("label.pdf", ContentFile(PDF), save=True)
    assert (media_tmp / row.file.name).read_bytes() == PDF
    return row


def signed(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.usefixtures("debug_urls")
def test_the_media_folder_is_not_served_even_with_debug_on(stored: Attachment, alice: User) -> None:
    path = f"/media/{stored.file.name}"

    assert Client().get(path).status_code == 404
    assert signed(alice).get(path).status_code == 404


@pytest.mark.usefixtures("debug_urls")
def test_the_checked_views_serve_the_file_to_an_entitled_agent_only(
    stored: Attachment, alice: User, carla: User
) -> None:
    page = signed(alice).get(f"/attachments/{stored.pk}/")
    api = signed(alice).get(f"/api/v1/attachments/{stored.pk}")

    assert page.status_code == 200 and b"".join(page.streaming_content) == PDF
    assert api.status_code == 200 and b"".join(api.streaming_content) == PDF
    assert signed(carla).get(f"/attachments/{stored.pk}/").status_code == 404
    assert signed(carla).get(f"/api/v1/attachments/{stored.pk}").status_code == 404
    assert Client().get(f"/attachments/{stored.pk}/").status_code in {302, 403}
    assert Client().get(f"/api/v1/attachments/{stored.pk}").status_code == 401


def test_no_page_or_api_answer_links_to_the_media_folder(stored: Attachment, alice: User) -> None:
    ticket = stored.message.ticket
    client = signed(alice)

    for url in (f"/tickets/{ticket.pk}/", f"/api/v1/tickets/{ticket.pk}/messages"):
        response = client.get(url)
        assert response.status_code == 200
        assert "/media/" not in response.content.decode()

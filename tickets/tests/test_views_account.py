from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.utils import timezone

from tests.fixtures.personas import make_agent
from tickets.models import AgentProfile


@pytest.mark.django_db
def test_sign_in_and_out(client: Client, alice: User) -> None:
    response = client.post("/login/", {"username": "alice_rossi", "password": "wrong"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    response = client.post("/login/", {"username": "alice_rossi", "password": "password"})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(alice.pk)
    response = client.post("/logout/")
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_sign_in_never_redirects_off_site(client: Client, alice: User) -> None:
    response = client.post(
        "/login/", {"username": "alice_rossi", "password": "password", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_password_reset_by_email(client: Client, alice: User) -> None:
    client.post("/password-reset/", {"email": "alice_rossi@sportello.test"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    form = client.get(link[1], follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-much-better-secret-9", "new_password2": "a-much-better-secret-9"},
    )
    assert done["Location"] == "/password-reset/done/"
    assert client.login(request=HttpRequest(), username="alice_rossi", password="a-much-better-secret-9")


@pytest.mark.django_db
def test_unknown_address_gets_the_same_answer_and_no_mail(client: Client) -> None:
    response = client.post("/password-reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


@pytest.mark.django_db
def test_language_is_saved_on_the_profile_and_wins_over_the_browser(client: Client, alice: User) -> None:
    client.force_login(alice)
    client.post("/language/", {"language": "en", "next": "/inbox/mine/"})
    assert AgentProfile.objects.get(user=alice).ui_language == "en"
    client.post("/language/", {"language": "it", "next": "/inbox/mine/"})
    assert AgentProfile.objects.get(user=alice).ui_language == "it"

    browser = Client(headers={"accept-language": "en"})
    browser.force_login(alice)
    page = browser.get("/inbox/mine/")
    assert page["Content-Language"] == "it"
    assert "Non assegnati" in page.content.decode()


@pytest.mark.django_db
def test_language_switch_rejects_unknown_languages_and_foreign_redirects(client: Client, alice: User) -> None:
    client.force_login(alice)
    assert client.post("/language/", {"language": "xx"}).status_code == 400
    response = client.post("/language/", {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert client.get("/language/").status_code == 405


@pytest.mark.django_db
def test_signed_out_visitor_switches_by_cookie(client: Client) -> None:
    client.post("/language/", {"language": "en", "next": "/login/"})
    assert "Forgot your password?" in client.get("/login/").content.decode()
    client.post("/language/", {"language": "it", "next": "/login/"})
    assert "Password dimenticata?" in client.get("/login/").content.decode()


# --- sign-in throttling ----------------------------------------------------------------------------------

SIGN_IN_PAGES = ["/login/", "/admin/login/"]


@pytest.fixture
def staff(billing: object) -> User:
    """Alice as she would be to sign in to the admin too."""
    user = make_agent("alice_rossi")
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    return user


def sign_in(
    page: str, username: str, password: str, address: str = "10.0.0.1", **headers: str
) -> HttpResponse:
    return Client(headers=headers).post(
        page, {"username": username, "password": password, "next": "/"}, REMOTE_ADDR=address
    )


def signed_in(response: HttpResponse) -> bool:
    return response.wsgi_request.user.is_authenticated  # type: ignore[attr-defined]


def fail(page: str, times: int, username: str = "alice_rossi", address: str = "10.0.0.1") -> None:
    for _ in range(times):
        assert not signed_in(sign_in(page, username, "wrong", address))


@pytest.mark.django_db
@pytest.mark.parametrize("page", SIGN_IN_PAGES)
def test_the_right_password_still_signs_in_below_the_limit(page: str, staff: User, settings: Any) -> None:
    fail(page, settings.AXES_FAILURE_LIMIT - 1)

    assert signed_in(sign_in(page, "alice_rossi", "password"))


@pytest.mark.django_db
@pytest.mark.parametrize("page", SIGN_IN_PAGES)
@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "Too many failed sign-in attempts"), ("it", "Troppi tentativi di accesso falliti")],
)
def test_after_the_limit_even_the_right_password_is_refused(
    page: str, language: str, text: str, staff: User, settings: Any
) -> None:
    fail(page, settings.AXES_FAILURE_LIMIT)

    response = sign_in(page, "alice_rossi", "password", accept_language=language)

    assert not signed_in(response)
    assert response.status_code == 429
    assert text in response.content.decode()
    assert "15" in response.content.decode()  # the minutes to wait


@pytest.mark.django_db
@pytest.mark.parametrize("page", SIGN_IN_PAGES)
def test_the_lock_is_per_account_and_per_address(page: str, staff: User, bob: User, settings: Any) -> None:
    User.objects.filter(pk=bob.pk).update(is_staff=True, is_superuser=True)
    fail(page, settings.AXES_FAILURE_LIMIT)

    # The account, from anywhere; and anyone, from that address.
    assert sign_in(page, "alice_rossi", "password", "10.0.0.2").status_code == 429
    assert sign_in(page, "bob_bianchi", "password", "10.0.0.1").status_code == 429
    # Another account from another address is not held up.
    assert signed_in(sign_in(page, "bob_bianchi", "password", "10.0.0.2"))


@pytest.mark.django_db
def test_many_addresses_against_one_account_are_counted_together(staff: User, settings: Any) -> None:
    for number in range(settings.AXES_FAILURE_LIMIT):
        fail("/login/", 1, address=f"10.0.1.{number}")

    assert not signed_in(sign_in("/login/", "alice_rossi", "password", "10.0.2.1"))


@pytest.mark.django_db
def test_the_lock_ends_after_the_cool_off(staff: User, settings: Any) -> None:
    from axes.models import AccessAttempt

    fail("/login/", settings.AXES_FAILURE_LIMIT)
    assert not signed_in(sign_in("/login/", "alice_rossi", "password"))

    long_ago = timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    AccessAttempt.objects.update(attempt_time=long_ago)

    assert signed_in(sign_in("/login/", "alice_rossi", "password"))


@pytest.mark.django_db
def test_a_forged_forwarded_address_does_not_escape_the_lock(staff: User, bob: User, settings: Any) -> None:
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in("/login/", f"nobody{number}", "wrong", x_forwarded_for=f"192.0.2.{number}")

    assert sign_in("/login/", "bob_bianchi", "password", x_forwarded_for="192.0.2.99").status_code == 429


@pytest.mark.django_db
def test_behind_a_counted_proxy_the_client_address_is_the_forwarded_one(
    staff: User, bob: User, settings: Any
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "172.18.0.5"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        # The client may send its own header; the proxy appends the address it saw.
        sign_in("/login/", "carlo", "wrong", proxy, x_forwarded_for="203.0.113.9, 198.51.100.7")

    held = sign_in("/login/", "bob_bianchi", "password", proxy, x_forwarded_for="1.2.3.4, 198.51.100.7")
    other = sign_in("/login/", "bob_bianchi", "password", proxy, x_forwarded_for="198.51.100.8")

    assert held.status_code == 429
    assert signed_in(other)

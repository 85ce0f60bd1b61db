from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

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
    assert client.login(username="alice_rossi", password="a-much-better-secret-9")


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

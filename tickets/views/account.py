"""Sign-in, sign-out, password reset (Django's views, our templates) and the language switch."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import translation
from django.views.decorators.http import require_POST

from tickets.access import agent_profile
from tickets.services.preferences import agent_ui_language_set
from tickets.views.common import safe_next

login = auth_views.LoginView.as_view(
    template_name="registration/login.html", redirect_authenticated_user=True
)
logout = auth_views.LogoutView.as_view(next_page=settings.LOGIN_URL)
password_reset = auth_views.PasswordResetView.as_view(
    template_name="registration/password_reset_form.html",
    email_template_name="registration/password_reset_email.txt",
    subject_template_name="registration/password_reset_subject.txt",
    success_url=reverse_lazy("password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="registration/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="registration/password_reset_confirm.html",
    success_url=reverse_lazy("password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="registration/password_reset_complete.html"
)


def sign_in_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """What django-axes answers a sign-in refused by the throttle, on every sign-in page: 429."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the interface language: saved on the agent's profile, and in a cookie for the sign-in page."""
    language = request.POST.get("language", "")
    if language not in {code for code, _name in settings.LANGUAGES}:
        return HttpResponseBadRequest("Unsupported language.")
    profile = agent_profile(request.user)
    if profile is not None:
        try:
            agent_ui_language_set(profile=profile, language=language)
        except ValidationError:
            return HttpResponseBadRequest("Unsupported language.")
    translation.activate(language)
    response = HttpResponseRedirect(safe_next(request, "/"))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response

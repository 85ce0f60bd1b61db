from __future__ import annotations

from django.urls import include, path

from channels_in.email import views

urlpatterns = [
    path("email/<slug:channel_key>/raw", views.raw_message, name="email-inbound-raw"),
    # Every ESP Anymail supports (Mailgun, Postmark, SES, SendGrid, Mailjet, SparkPost, …) posts here;
    # the inbound signal receiver in ``signals.py`` files the mail.
    path("email/anymail/", include("anymail.urls")),
]

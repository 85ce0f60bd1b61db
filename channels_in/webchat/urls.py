from __future__ import annotations

from django.urls import path

from channels_in.webchat import views

urlpatterns = [
    path("demo/", views.demo, name="webchat-demo"),
    path("<slug:channel_key>/config.json", views.config_json, name="webchat-config"),
    path("<slug:channel_key>/frame/", views.frame, name="webchat-frame"),
    path("<slug:channel_key>/session", views.session, name="webchat-session"),
    path("<slug:channel_key>/messages", views.upload, name="webchat-upload"),
    path("<slug:channel_key>/files/<str:signed>", views.attachment, name="webchat-file"),
]

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from channels_in.inbound import inbound_event_replay
from channels_in.models import ChannelAccount, InboundEvent, MailboxCursor
from channels_in.registry import config_schema, kinds_registered, secret_fields

# Stands for a stored secret in the form: sent back unchanged, the stored value is kept.
SECRET_MASK = "********"


def _at(config: dict[str, Any], path: str) -> tuple[dict[str, Any] | None, str]:
    """The dict holding ``path``'s last part (None where the config has no such branch), and that part."""
    *branches, leaf = path.split(".")
    node: Any = config
    for branch in branches:
        node = node.get(branch) if isinstance(node, dict) else None
    return (node if isinstance(node, dict) else None), leaf


def config_masked(kind: str, config: object) -> object:
    """``config`` with every secret the kind's schema marks replaced by the mask."""
    if not isinstance(config, dict) or kind not in kinds_registered():
        return config
    shown = copy.deepcopy(config)
    for path in secret_fields(config_schema(kind)):
        holder, leaf = _at(shown, path)
        if holder is not None and holder.get(leaf):
            holder[leaf] = SECRET_MASK
    return shown


def config_unmasked(kind: str, submitted: object, stored: object) -> object:
    """The submitted config, each secret left masked taken back from the stored one."""
    if not isinstance(submitted, dict) or not isinstance(stored, dict) or kind not in kinds_registered():
        return submitted
    for path in secret_fields(config_schema(kind)):
        holder, leaf = _at(submitted, path)
        if holder is not None and holder.get(leaf) == SECRET_MASK:
            kept, _ = _at(stored, path)
            holder[leaf] = kept.get(leaf, "") if kept is not None else ""
    return submitted


class ChannelAccountForm(forms.ModelForm):
    """Secrets never reach the page: shown masked, kept when the mask comes back."""

    class Meta:
        model = ChannelAccount
        fields = "__all__"  # noqa: DJ007 - the admin edits every field

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["config"] = config_masked(self.instance.kind, self.instance.config)

    def clean_config(self) -> object:
        submitted = self.cleaned_data.get("config")
        if not self.instance.pk:
            return submitted
        stored = ChannelAccount.objects.filter(pk=self.instance.pk).values_list("config", flat=True).first()
        return config_unmasked(self.cleaned_data.get("kind") or self.instance.kind, submitted, stored)


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin):
    form = ChannelAccountForm
    list_display = ["name", "kind", "key", "default_team", "active", "widget"]
    list_filter = ["kind", "active"]
    readonly_fields = ["widget"]

    @admin.display(description="web chat")
    def widget(self, account: ChannelAccount) -> str:
        """For a web-chat channel: the tag a site adds, and the demo page that embeds the demo chat."""
        if account.kind != ChannelAccount.Kind.WEBCHAT:
            return "-"
        from channels_in.webchat.views_support import embed_snippet

        return format_html(
            '<code>{}</code><br><a href="{}">{}</a>',
            embed_snippet(account),
            "/widget/demo/",
            "Web-chat demo page",
        )


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "channel_account",
        "state",
        "attempts",
        "received_at",
        "processed_at",
        "short_error",
    ]
    list_filter = ["state", "channel_account"]
    readonly_fields = [
        "channel_account",
        "provider_event_id",
        "headers",
        "content_type",
        "received_at",
        "processed_at",
        "attempts",
        "error",
        "result",
        "state",
    ]
    exclude = ["body"]
    actions = ["replay"]

    @admin.display(description="error / why not filed")
    def short_error(self, event: InboundEvent) -> str:
        # Failed and ignored events always carry one (a database constraint): "code: detail".
        return event.error if len(event.error) <= 80 else event.error[:77] + "..."

    @admin.action(description="Process again")
    def replay(self, request: HttpRequest, queryset: QuerySet[InboundEvent]) -> None:
        count = 0
        for event in queryset.exclude(state=InboundEvent.State.PENDING):
            inbound_event_replay(event=event)
            count += 1
        self.message_user(request, f"{count} event(s) queued again.", messages.SUCCESS)


@admin.register(MailboxCursor)
class MailboxCursorAdmin(admin.ModelAdmin):
    """Where each mailbox's IMAP poller stands, next to its health (errors, back-off)."""

    list_display = ["channel_account", "folder", "uidvalidity", "last_uid", "updated_at", "imap_status"]
    readonly_fields = ["channel_account", "folder", "uidvalidity", "last_uid", "lease_until", "updated_at"]

    @admin.display(description="IMAP health")
    def imap_status(self, cursor: MailboxCursor) -> str:
        health = (cursor.channel_account.health or {}).get("imap") or {}
        if health.get("status") == "error":
            return f"error x{health.get('failures', 0)}: {health.get('last_error', '')}"[:120]
        return str(health.get("status", "not polled yet"))

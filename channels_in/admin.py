from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from channels_in.inbound import inbound_event_replay
from channels_in.models import ChannelAccount, InboundEvent, MailboxCursor


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin):
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

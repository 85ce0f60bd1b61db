"""Routes under /api/v1/ (the live layer adds its own event routes in helpdesk/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tickets.api.views import agents, config, contacts, directory, files, messages, reports, tickets
from tickets.api.views import dashboard as dashboard_api

urlpatterns: list[URLPattern | URLResolver] = [
    path("tickets", tickets.TicketListView.as_view(), name="api-tickets"),
    path("tickets/<int:ticket_id>", tickets.TicketDetailView.as_view(), name="api-ticket"),
    path(
        "tickets/<int:ticket_id>/messages", messages.TicketMessagesView.as_view(), name="api-ticket-messages"
    ),
    path("tickets/<int:ticket_id>/reply", messages.TicketReplyView.as_view(), name="api-ticket-reply"),
    path("tickets/<int:ticket_id>/triage", config.TicketTriageView.as_view(), name="api-ticket-triage"),
    path("tickets/<int:ticket_id>/notes", messages.TicketNoteView.as_view(), name="api-ticket-notes"),
    path("messages/<int:message_id>/retry", messages.MessageRetryView.as_view(), name="api-message-retry"),
    path("messages/<int:message_id>/split", files.MessageSplitView.as_view(), name="api-message-split"),
    path("attachments/<int:attachment_id>", files.AttachmentDownloadView.as_view(), name="api-attachment"),
    path("contacts", contacts.ContactListView.as_view(), name="api-contacts"),
    path("contacts/<int:contact_id>", contacts.ContactDetailView.as_view(), name="api-contact"),
    path("contacts/<int:contact_id>/merge", contacts.ContactMergeView.as_view(), name="api-contact-merge"),
    path(
        "contact-merges/<int:merge_id>/undo",
        contacts.ContactMergeUndoView.as_view(),
        name="api-contact-merge-undo",
    ),
    path("dashboard", dashboard_api.DashboardView.as_view(), name="api-dashboard"),
    path("teams", directory.TeamListView.as_view(), name="api-teams"),
    path("agents", directory.AgentListView.as_view(), name="api-agents"),
    path("agents/me", directory.AgentMeView.as_view(), name="api-agent-me"),
    path(
        "agents/<int:agent_id>/redistribute",
        agents.AgentRedistributeView.as_view(),
        name="api-agent-redistribute",
    ),
    path("canned-responses", directory.CannedResponseListView.as_view(), name="api-canned-responses"),
    path(
        "canned-responses/<int:response_id>",
        directory.CannedResponseDetailView.as_view(),
        name="api-canned-response",
    ),
    path("routing-rules", config.RoutingRuleListView.as_view(), name="api-routing-rules"),
    path("routing-rules/<int:rule_id>", config.RoutingRuleDetailView.as_view(), name="api-routing-rule"),
    path("sla-policies", config.SLAPolicyListView.as_view(), name="api-sla-policies"),
    path("sla-policies/<int:policy_id>", config.SLAPolicyDetailView.as_view(), name="api-sla-policy"),
    path("business-calendars", config.BusinessCalendarListView.as_view(), name="api-business-calendars"),
    path(
        "business-calendars/<int:calendar_id>",
        config.BusinessCalendarDetailView.as_view(),
        name="api-business-calendar",
    ),
    path("reports/summary", reports.ReportSummaryView.as_view(), name="api-report-summary"),
    path("reports/volume", reports.ReportVolumeView.as_view(), name="api-report-volume"),
    path("reports/heatmap", reports.ReportHeatmapView.as_view(), name="api-report-heatmap"),
    path("reports/agents", reports.ReportAgentsView.as_view(), name="api-report-agents"),
    path("reports/<str:report>.csv", reports.ReportCsvView.as_view(), name="api-report-csv"),
]

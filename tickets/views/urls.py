from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tickets.views import (
    account,
    attachments,
    inbox,
    merge,
    presence,
    redistribute,
    rules,
    split,
    supervisor,
    ticket,
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("login/", account.login, name="login"),
    path("logout/", account.logout, name="logout"),
    path("password-reset/", account.password_reset, name="password_reset"),
    path("password-reset/sent/", account.password_reset_done, name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", account.password_reset_confirm, name="password_reset_confirm"),
    path("password-reset/done/", account.password_reset_complete, name="password_reset_complete"),
    path("language/", account.language_set, name="language_set"),
    path("presence/", presence.presence_set_view, name="presence_set"),
    path("", inbox.home, name="home"),
    path("inbox/team/<int:team_id>/", inbox.inbox, name="inbox_team"),
    path("inbox/<slug:view>/", inbox.inbox, name="inbox"),
    path("tickets/<int:ticket_id>/", ticket.ticket_detail, name="ticket"),
    path("tickets/<int:ticket_id>/timeline/", ticket.ticket_timeline_partial, name="ticket_timeline"),
    path("tickets/<int:ticket_id>/actions/", ticket.ticket_actions_partial, name="ticket_actions"),
    path("tickets/<int:ticket_id>/sidebar/", ticket.ticket_sidebar_partial, name="ticket_sidebar"),
    path("tickets/<int:ticket_id>/reply/", ticket.ticket_reply, name="ticket_reply"),
    path("tickets/<int:ticket_id>/action/", ticket.ticket_action, name="ticket_action"),
    path("tickets/<int:ticket_id>/merge/", merge.ticket_merge_view, name="ticket_merge"),
    path("tickets/<int:ticket_id>/unmerge/", merge.ticket_unmerge_view, name="ticket_unmerge"),
    path(
        "tickets/<int:ticket_id>/merge-contact/<int:suggestion_id>/",
        merge.contact_merge_view,
        name="contact_merge",
    ),
    path(
        "tickets/<int:ticket_id>/messages/<int:message_id>/split/",
        split.message_split_view,
        name="message_split",
    ),
    path(
        "tickets/<int:ticket_id>/contact-merges/<int:merge_id>/undo/",
        merge.contact_merge_undo_view,
        name="contact_merge_undo",
    ),
    path("tickets/<int:ticket_id>/triage/", rules.ticket_triage_view, name="ticket_triage"),
    path("supervisor/", supervisor.dashboard, name="supervisor_dashboard"),
    path("supervisor/data/", supervisor.dashboard_data, name="supervisor_dashboard_data"),
    path("supervisor/rules/", rules.rules_list, name="rules"),
    path("supervisor/rules/new/", rules.rule_new, name="rule_new"),
    path("supervisor/rules/<int:rule_id>/", rules.rule_edit, name="rule_edit"),
    path("supervisor/rules/<int:rule_id>/delete/", rules.rule_delete, name="rule_delete"),
    path("supervisor/rules/<int:rule_id>/move/", rules.rule_move, name="rule_move"),
    path("supervisor/rules/<int:rule_id>/active/", rules.rule_active, name="rule_active"),
    path(
        "supervisor/agents/<int:agent_id>/redistribute/",
        redistribute.agent_redistribute_view,
        name="agent_redistribute",
    ),
    path("attachments/<int:attachment_id>/", attachments.attachment_download, name="attachment"),
    path(
        "tickets/<int:ticket_id>/messages/<int:message_id>/retry/",
        ticket.message_retry_view,
        name="message_retry",
    ),
]

from __future__ import annotations

from django.contrib import admin

from tickets import models


class IdentityInline(admin.TabularInline):
    model = models.ContactIdentity
    extra = 0


@admin.register(models.Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "tier", "created_at"]
    search_fields = ["name", "identities__value"]
    inlines = [IdentityInline]


@admin.register(models.Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "assignment_strategy"]


@admin.register(models.AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "limited_to_teams", "capacity", "presence"]
    list_filter = ["role", "limited_to_teams", "teams", "presence"]
    filter_horizontal = ["teams"]


@admin.register(models.CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "title", "team"]
    search_fields = ["shortcut", "title", "body"]


@admin.register(models.SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "first_response_minutes", "next_response_minutes", "resolution_minutes"]


admin.site.register(models.BusinessCalendar)
admin.site.register(models.RoutingRule)
admin.site.register(models.Tag)


@admin.register(models.Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "subject", "status", "priority", "team", "assignee", "created_at"]
    list_filter = ["status", "priority", "team"]
    raw_id_fields = ["contact", "follow_up_of", "merged_into"]
    search_fields = ["subject"]

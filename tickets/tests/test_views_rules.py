from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from channels_in.models import ChannelAccount
from tests.fixtures.browser import customer_writes
from tests.fixtures.personas import make_agent
from tickets.models import AgentProfile, RoutingRule, Team, Ticket, TicketEvent
from tickets.services.tickets import ticket_update

pytestmark = pytest.mark.django_db

BAD_REGEX = '{"all": [{"field": "subject", "op": "matches", "value": "("}]}'
INVOICE = '{"all": [{"field": "subject_or_text", "op": "contains_any", "value": ["fattura"]}]}'


def signed_in(client: Client, user: User, language: str = "en") -> Client:
    AgentProfile.objects.filter(user=user).update(ui_language=language)
    client.force_login(user)
    return client


def rule_form(**fields: Any) -> dict[str, Any]:
    """A rule form as the page posts it, with an empty made-up message."""
    data = {
        "name": "Invoices",
        "order": "",
        "active": "on",
        "conditions": INVOICE,
        "actions": '{"priority": 4}',
        "intent": "save",
        "preview-channel_kind": "",
        "preview-subject": "",
        "preview-text": "",
        "preview-language": "",
        "preview-contact_tags": "",
        "preview-contact_tier": "",
        "preview-priority": "2",
        "preview-business_hours": "",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def make_rule(name: str, order: int, **fields: Any) -> RoutingRule:
    return RoutingRule.objects.create(name=name, order=order, **fields)


# Who may use the screen -------------------------------------------------------------------------------


def test_anonymous_are_sent_to_sign_in(client: Client) -> None:
    rule = make_rule("Any", 10)
    for url in ("/supervisor/rules/", "/supervisor/rules/new/", f"/supervisor/rules/{rule.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    response = client.post(f"/supervisor/rules/{rule.pk}/delete/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert RoutingRule.objects.filter(pk=rule.pk).exists()


def test_agents_get_403_everywhere(
    client: Client, alice: User, billing: Team, api_channel: ChannelAccount
) -> None:
    rule = make_rule("Any", 10)
    ticket = customer_writes(api_channel, "fattura")
    signed_in(client, alice)
    for url in ("/supervisor/rules/", "/supervisor/rules/new/", f"/supervisor/rules/{rule.pk}/"):
        assert client.get(url).status_code == 403, url
    for url in ("delete", "move", "active"):
        assert client.post(f"/supervisor/rules/{rule.pk}/{url}/", {"direction": "up"}).status_code == 403
    assert client.post("/supervisor/rules/new/", rule_form()).status_code == 403
    assert client.post(f"/tickets/{ticket.pk}/triage/").status_code == 403
    assert RoutingRule.objects.get() == rule and RoutingRule.objects.get().active


def test_supervisors_and_admins_see_the_screen_and_its_link(client: Client, sam: User, alice: User) -> None:
    make_rule("Invoices to Billing", 10, conditions={"all": []}, actions={"priority": 3})
    admin = make_agent("ada_admin", role=AgentProfile.Role.ADMIN)

    page = signed_in(client, sam).get("/supervisor/rules/")
    assert page.status_code == 200
    assert "Invoices to Billing" in page.content.decode()
    assert 'href="/supervisor/rules/"' in client.get("/", follow=True).content.decode()
    assert signed_in(Client(), admin).get("/supervisor/rules/").status_code == 200
    inbox = signed_in(Client(), alice).get("/", follow=True).content.decode()
    assert 'href="/supervisor/rules/"' not in inbox


def test_the_list_shows_policies_and_calendars_and_costs_few_queries(client: Client, sam: User) -> None:
    from tickets.models import BusinessCalendar, SLAPolicy

    calendar = BusinessCalendar.objects.create(name="Rome office", intervals={"mon": [["09:00", "18:00"]]})
    for number in range(5):
        make_rule(f"Rule {number}", number)
        SLAPolicy.objects.create(name=f"Policy {number}", first_response_minutes=60, calendar=calendar)
    signed_in(client, sam)
    client.get("/supervisor/rules/")

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/supervisor/rules/").content.decode()

    assert "Policy 4" in page and "Rome office" in page and "mon 09:00-18:00" in page
    assert len(queries) <= 10, [query["sql"] for query in queries]


# Creating, changing, ordering --------------------------------------------------------------------------


def test_a_rule_is_created_last_and_opens_for_editing(client: Client, sam: User) -> None:
    make_rule("Earlier", 50)
    response = signed_in(client, sam).post("/supervisor/rules/new/", rule_form())

    rule = RoutingRule.objects.get(name="Invoices")
    assert response.status_code == 302 and response["Location"] == f"/supervisor/rules/{rule.pk}/"
    assert rule.order == 60 and rule.active
    assert rule.conditions["all"][0]["value"] == ["fattura"] and rule.actions == {"priority": 4}
    page = client.get(response["Location"]).content.decode()
    assert "Rule “Invoices” saved." in page
    # The stored JSON comes back pretty-printed for editing, keys in the order people write them.
    assert "&quot;all&quot;: [\n" in page
    assert page.index("&quot;field&quot;") < page.index("&quot;op&quot;") < page.index("&quot;value&quot;")


def test_a_bad_regex_is_refused_naming_its_place(client: Client, sam: User) -> None:
    response = signed_in(client, sam).post("/supervisor/rules/new/", rule_form(conditions=BAD_REGEX))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="error-conditions"' in page
    assert "all[0].value: &quot;(&quot; is not a valid regular expression" in page
    assert not RoutingRule.objects.exists()


def test_bad_json_and_bad_actions_are_shown_beside_their_fields(client: Client, sam: User) -> None:
    signed_in(client, sam)
    page = client.post("/supervisor/rules/new/", rule_form(conditions="{all: [")).content.decode()
    assert 'data-testid="error-conditions"' in page and "This is not valid JSON" in page

    page = client.post("/supervisor/rules/new/", rule_form(actions='{"priority": 7}')).content.decode()
    assert 'data-testid="error-actions"' in page and "actions.priority: 7 is not one of" in page
    assert not RoutingRule.objects.exists()


def test_errors_are_shown_in_italian_to_an_italian_supervisor(client: Client, sam: User) -> None:
    page = signed_in(client, sam, "it").post("/supervisor/rules/new/", rule_form(conditions="[")).content
    assert "Questo non è un JSON valido" in page.decode()


def test_editing_keeps_the_rule_and_names_are_unique_per_field(client: Client, sam: User) -> None:
    rule = make_rule("Invoices", 10)
    signed_in(client, sam)
    response = client.post(f"/supervisor/rules/{rule.pk}/", rule_form(name="Fatture", order="5"))

    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.order, rule.actions) == ("Fatture", 5, {"priority": 4})
    assert client.get("/supervisor/rules/999999/").status_code == 404


def test_switching_off_and_on(client: Client, sam: User) -> None:
    rule = make_rule("Invoices", 10)
    signed_in(client, sam)

    client.post(f"/supervisor/rules/{rule.pk}/active/", {"active": "0"})
    rule.refresh_from_db()
    assert not rule.active
    client.post(f"/supervisor/rules/{rule.pk}/active/", {"active": "1"})
    rule.refresh_from_db()
    assert rule.active


def test_a_stored_invalid_rule_can_be_switched_off_but_not_on(client: Client, sam: User) -> None:
    rule = make_rule("Legacy", 10, conditions={"all": [{"field": "mood", "op": "is", "value": 1}]})
    signed_in(client, sam)

    client.post(f"/supervisor/rules/{rule.pk}/active/", {"active": "0"})
    rule.refresh_from_db()
    assert not rule.active
    page = client.post(f"/supervisor/rules/{rule.pk}/active/", {"active": "1"}, follow=True).content.decode()
    rule.refresh_from_db()
    assert not rule.active
    assert "conditions: all[0].field: unknown field" in page


def test_moving_swaps_places_and_renumbers(client: Client, sam: User) -> None:
    first, second, third = make_rule("A", 100), make_rule("B", 100), make_rule("C", 100)
    signed_in(client, sam)

    client.post(f"/supervisor/rules/{third.pk}/move/", {"direction": "up"})
    assert list(RoutingRule.objects.values_list("name", "order")) == [("A", 10), ("C", 20), ("B", 30)]
    client.post(f"/supervisor/rules/{first.pk}/move/", {"direction": "up"})  # already first: stays
    client.post(f"/supervisor/rules/{first.pk}/move/", {"direction": "down"})
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["C", "A", "B"]
    assert client.post(f"/supervisor/rules/{second.pk}/move/", {"direction": "sideways"}).status_code == 404


def test_deleting(client: Client, sam: User) -> None:
    rule = make_rule("Invoices", 10)
    response = signed_in(client, sam).post(f"/supervisor/rules/{rule.pk}/delete/", follow=True)
    assert "Rule “Invoices” deleted." in response.content.decode()
    assert not RoutingRule.objects.exists()
    assert client.get(f"/supervisor/rules/{rule.pk}/delete/").status_code == 405


# Trying a rule on a made-up message ---------------------------------------------------------------------


def preview(client: Client, url: str, **fields: Any) -> str:
    response = client.post(url, rule_form(intent="preview", **fields))
    assert response.status_code == 200
    return response.content.decode()


def outcome(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</div>", start)]


def test_preview_of_an_unsaved_rule_that_matches(client: Client, sam: User, billing: Team) -> None:
    signed_in(client, sam)
    page = preview(
        client,
        "/supervisor/rules/new/",
        actions=f'{{"team": {billing.pk}, "priority": 4, "tags": ["fatture"]}}',
        **{"preview-subject": "FATTURA sbagliata", "preview-channel_kind": "email"},
    )

    draft = outcome(page, "preview-draft")
    assert "Matches." in draft
    assert "Billing" in draft and "Urgent" in draft and "fatture" in draft
    assert f"Rule “Invoices” sent the ticket to team {billing.pk}." in draft
    assert "Rule “Invoices” set the priority to urgent." in draft
    assert "Matches." in outcome(page, "preview-all")
    assert not RoutingRule.objects.exists()  # trying saves nothing


def test_preview_that_does_not_match(client: Client, sam: User) -> None:
    page = preview(signed_in(client, sam), "/supervisor/rules/new/", **{"preview-subject": "Password"})
    assert "Does not match." in outcome(page, "preview-draft")
    assert "Does not match." in outcome(page, "preview-all")


def test_preview_reads_the_facts_of_the_made_up_message(client: Client, sam: User) -> None:
    conditions = (
        '{"all": [{"field": "contact_tier", "op": "in", "value": ["gold"]},'
        ' {"field": "contact_tags", "op": "has_any", "value": ["vip"]},'
        ' {"field": "language", "op": "in", "value": ["it"]},'
        ' {"field": "priority", "op": "gte", "value": 3},'
        ' {"field": "business_hours", "op": "is", "value": "closed"},'
        ' {"field": "channel_kind", "op": "in", "value": ["whatsapp"]}]}'
    )
    facts = {
        "preview-contact_tier": "Gold",
        "preview-contact_tags": "new, VIP",
        "preview-language": "it-IT",
        "preview-priority": "3",
        "preview-business_hours": "closed",
        "preview-channel_kind": "whatsapp",
    }
    signed_in(client, sam)
    assert "Matches." in outcome(
        preview(client, "/supervisor/rules/new/", conditions=conditions, **facts), "preview-draft"
    )
    facts["preview-business_hours"] = ""  # unknown: the condition does not hold
    assert "Does not match." in outcome(
        preview(client, "/supervisor/rules/new/", conditions=conditions, **facts), "preview-draft"
    )


def test_preview_tries_the_draft_among_the_active_rules(client: Client, sam: User, tech: Team) -> None:
    make_rule(
        "Everything urgent",
        10,
        conditions={},
        actions={"priority": 4, "tags": ["first"], "continue": True},
    )
    make_rule("Stops here", 20, conditions={}, actions={"tags": ["second"]})
    make_rule("Switched off", 1, active=False, conditions={}, actions={"priority": 1})
    rule = make_rule("Invoices", 30, conditions={"all": []}, actions={"priority": 1})
    signed_in(client, sam)

    page = preview(
        client,
        f"/supervisor/rules/{rule.pk}/",
        order="15",
        actions=f'{{"team": {tech.pk}, "priority": 2}}',
        **{"preview-subject": "fattura"},
    )

    everything = outcome(page, "preview-all")
    assert "Everything urgent, Invoices" in everything  # the draft, moved to 15, runs before "Stops here"
    assert "Urgent" in everything and "Tech" in everything and "first" in everything
    assert "second" not in everything and "Switched off" not in everything
    assert "All active rules, in order (3 rules)" in page
    rule.refresh_from_db()
    assert rule.order == 30 and rule.actions == {"priority": 1}  # the unsaved text was tried, not stored


def test_preview_of_an_invalid_draft_names_the_problem(client: Client, sam: User) -> None:
    page = preview(signed_in(client, sam), "/supervisor/rules/new/", conditions=BAD_REGEX)
    assert "all[0].value: &quot;(&quot; is not a valid regular expression" in page
    assert "cannot be tried until the problems shown beside its fields are fixed" in page


def test_preview_reasons_are_in_the_readers_language(client: Client, sam: User) -> None:
    page = preview(
        signed_in(client, sam, "it"),
        "/supervisor/rules/new/",
        actions='{"priority": 4}',
        **{"preview-subject": "fattura"},
    )
    draft = outcome(page, "preview-draft")
    assert "Corrisponde." in draft
    assert "La regola “Invoices” ha impostato la priorità a urgente." in draft


# Running the rules again on a ticket --------------------------------------------------------------------


def test_a_supervisor_runs_the_rules_again_on_a_ticket(
    client: Client, sam: User, alice: User, tech: Team, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "La fattura è sbagliata")
    assert ticket.team is not None and ticket.team.name == "Billing"
    make_rule(
        "Invoices to Tech",
        10,
        conditions={"all": [{"field": "text", "op": "contains_any", "value": ["fattura"]}]},
        actions={"team": tech.pk, "priority": 4},
    )

    assert (
        'data-testid="rerun-rules"'
        not in signed_in(Client(), alice).get(f"/tickets/{ticket.pk}/").content.decode()
    )
    page = signed_in(client, sam).get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="rerun-rules"' in page
    response = client.post(f"/tickets/{ticket.pk}/triage/", follow=True)

    assert response.redirect_chain[-1][0] == f"/tickets/{ticket.pk}/"
    assert "Rules applied again" in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.team_id, ticket.priority) == (tech.pk, 4)
    moved = TicketEvent.objects.get(ticket=ticket, type="ticket.team_changed")
    assert moved.actor_id == sam.pk and moved.reason_data["code"] == "routing.rule"


def test_rules_are_not_run_again_on_a_closed_ticket(
    client: Client, sam: User, tech: Team, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "fattura")
    ticket_update(ticket=ticket, actor=sam, status=Ticket.Status.CLOSED)
    make_rule("To Tech", 10, conditions={}, actions={"team": tech.pk})

    page = signed_in(client, sam).post(f"/tickets/{ticket.pk}/triage/", follow=True).content.decode()

    assert "Rules run on open tickets only" in page
    ticket.refresh_from_db()
    assert ticket.team is not None and ticket.team.name == "Billing"
    assert signed_in(client, sam).get(f"/tickets/{ticket.pk}/triage/").status_code == 405

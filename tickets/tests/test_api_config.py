from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_agent
from tickets.models import AgentProfile, BusinessCalendar, RoutingRule, SLAPolicy, Team, Ticket
from tickets.services.tickets import ticket_update
from tickets.tests.api_support import client_for, new_ticket

pytestmark = pytest.mark.django_db

RULES = "/api/v1/routing-rules"
POLICIES = "/api/v1/sla-policies"
CALENDARS = "/api/v1/business-calendars"
INVOICES = {"all": [{"field": "subject_or_text", "op": "contains_any", "value": ["fattura"]}]}
WEEKDAYS_9_TO_6 = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def in_english(user: User | None) -> APIClient:
    """A token client reading answers in English (without Accept-Language they come in Italian, the
    default language: a token request is signed in after the language is chosen)."""
    client = client_for(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def names(response: Any) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


# Who may read and write -----------------------------------------------------------------------------


def test_every_agent_reads_and_only_supervisors_and_admins_write(alice: User, sam: User) -> None:
    rule = RoutingRule.objects.create(name="Invoices", conditions=INVOICES, actions={"priority": 3})
    policy = SLAPolicy.objects.create(name="Standard", first_response_minutes=60)
    calendar = BusinessCalendar.objects.create(name="Rome", intervals=WEEKDAYS_9_TO_6)
    agent = client_for(alice)

    for url, pk in ((RULES, rule.pk), (POLICIES, policy.pk), (CALENDARS, calendar.pk)):
        assert agent.get(url).status_code == 200, url
        assert agent.get(f"{url}/{pk}").status_code == 200, url
        assert agent.post(url, {"name": "x"}, format="json").status_code == 403, url
        assert agent.patch(f"{url}/{pk}", {"name": "y"}, format="json").status_code == 403, url
        assert agent.delete(f"{url}/{pk}").status_code == 403, url
        assert client_for(None).get(url).status_code == 401, url
    assert RoutingRule.objects.get().name == "Invoices"

    admin = make_agent("ada_admin", role=AgentProfile.Role.ADMIN)
    created = client_for(admin).post(RULES, {"name": "By an admin"}, format="json")
    assert created.status_code == 201


# Routing rules --------------------------------------------------------------------------------------


def test_supervisor_creates_changes_and_deletes_a_rule(sam: User, billing: Team) -> None:
    RoutingRule.objects.create(name="Earlier", order=40)
    client = client_for(sam)

    created = client.post(
        RULES,
        {"name": "Invoices", "conditions": INVOICES, "actions": {"team": billing.pk, "priority": 4}},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body == {
        "id": body["id"],
        "name": "Invoices",
        "order": 50,  # after the last rule
        "active": True,
        "conditions": INVOICES,
        "actions": {"team": billing.pk, "priority": 4},
    }
    url = f"{RULES}/{body['id']}"
    changed = client.patch(url, {"active": False, "order": 5}, format="json")
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert names(client.get(RULES)) == ["Invoices", "Earlier"]  # evaluation order
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"conditions": {"all": [{"field": "subject", "op": "matches", "value": "("}]}},
            "conditions",
            'all[0].value: "(" is not a valid regular expression',
        ),
        ({"conditions": {"all": [{"field": "mood", "op": "in", "value": []}]}}, "conditions", "all[0].field"),
        ({"conditions": "fattura"}, "conditions", "expected an object"),
        ({"actions": {"priority": 7}}, "actions", "actions.priority: 7 is not one of"),
        ({"actions": {"colour": "red"}}, "actions", "unknown action"),
        (
            {"conditions": {"all": [{"field": "text", "op": "contains_any", "value": ["a\x00b"]}]}},
            "conditions",
            "NUL",
        ),
        ({"name": ""}, "name", ""),
        ({"order": -1}, "order", ""),
        ({"order": 10**12}, "order", ""),
    ],
)
def test_an_invalid_rule_is_400_naming_the_field(
    sam: User, body: dict[str, Any], field: str, words: str
) -> None:
    response = in_english(sam).post(RULES, {"name": "Bad", **body}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert words in " ".join(response.json()[field])
    assert not RoutingRule.objects.exists()


def test_problems_are_named_in_italian_by_default(sam: User) -> None:
    body = {"name": "Bad", "conditions": {"all": [{"field": "subject", "op": "matches", "value": "("}]}}
    response = client_for(sam).post(RULES, body, format="json")
    assert response.json()["conditions"][0].startswith(
        'all[0].value: "(" non è un\'espressione regolare valida'
    )


def test_a_change_that_breaks_a_rule_is_refused_and_the_rule_kept(sam: User) -> None:
    rule = RoutingRule.objects.create(name="Invoices", conditions=INVOICES)
    response = client_for(sam).put(
        f"{RULES}/{rule.pk}", {"name": "Invoices", "conditions": {"any": "x"}}, format="json"
    )
    assert response.status_code == 400 and "any" in response.json()["conditions"][0]
    rule.refresh_from_db()
    assert rule.conditions == INVOICES


def test_rules_take_json_only(sam: User) -> None:
    response = client_for(sam).post(RULES, {"name": "Form"})
    assert response.status_code == 415


def test_a_duplicate_name_of_a_policy_is_400(sam: User) -> None:
    SLAPolicy.objects.create(name="Standard")
    response = client_for(sam).post(POLICIES, {"name": "Standard"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["name"]


def test_rule_list_costs_the_same_queries_for_one_or_twenty(sam: User) -> None:
    client = client_for(sam)
    counts = []
    for total in (1, 20):
        RoutingRule.objects.all().delete()
        RoutingRule.objects.bulk_create(RoutingRule(name=f"Rule {n}", order=n) for n in range(total))
        with CaptureQueriesContext(connection) as queries:
            assert len(client.get(RULES).json()["results"]) == total
        counts.append(len(queries))
    assert counts[0] == counts[1]


# SLA policies and calendars ---------------------------------------------------------------------------


def test_supervisor_creates_a_calendar_and_a_policy_counting_in_it(sam: User) -> None:
    client = client_for(sam)
    calendar = client.post(
        CALENDARS, {"name": "Milano", "intervals": WEEKDAYS_9_TO_6, "subdivision": "MI"}, format="json"
    )
    assert calendar.status_code == 201
    assert calendar.json()["time_zone"] == "Europe/Rome" and calendar.json()["country"] == "IT"
    policy = client.post(
        POLICIES,
        {
            "name": "Gold",
            "calendar": calendar.json()["id"],
            "first_response_minutes": 60,
            "resolution_minutes": 480,
            "priority_targets": {"4": {"first_response": 15}},
            "escalations": {"breach": {"priority": "raise"}},
        },
        format="json",
    )
    assert policy.status_code == 201, policy.json()
    stored = SLAPolicy.objects.get(pk=policy.json()["id"])
    assert stored.calendar_id == calendar.json()["id"] and stored.warning_percent == 80
    assert [row["name"] for row in client.get(CALENDARS).json()["results"]] == ["Milano"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priority_targets": {"9": {"first_response": 5}}}, "priority_targets"),
        ({"priority_targets": {"4": {"first_reply": 5}}}, "priority_targets"),
        ({"escalations": {"breach": {"priority": "sideways"}}}, "escalations"),
        ({"conditions": {"all": [{"field": "subject", "op": "matches", "value": "(?=x)"}]}}, "conditions"),
        ({"warning_percent": 100}, "warning_percent"),
        ({"first_response_minutes": 10**12}, "first_response_minutes"),
        ({"calendar": 999999}, "calendar"),
    ],
)
def test_an_invalid_policy_is_400_naming_the_field(sam: User, body: dict[str, Any], field: str) -> None:
    response = client_for(sam).post(POLICIES, {"name": "Bad", **body}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time_zone": "Europe/Atlantis"}, "time_zone"),
        ({"intervals": {"mon": [["09:00"]]}}, "intervals"),
        ({"intervals": {}}, "intervals"),
        ({"intervals": {"mon": 1}}, "intervals"),
        ({"holidays": ["2026-02-30"]}, "holidays"),
        ({"country": "ZZ"}, "country"),
    ],
)
def test_an_invalid_calendar_is_400_naming_the_field(sam: User, body: dict[str, Any], field: str) -> None:
    response = client_for(sam).post(
        CALENDARS, {"name": "Bad", "intervals": WEEKDAYS_9_TO_6, **body}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()


def test_what_is_in_use_is_not_deleted(sam: User, api_channel: ChannelAccount) -> None:
    calendar = BusinessCalendar.objects.create(name="Rome", intervals=WEEKDAYS_9_TO_6)
    policy = SLAPolicy.objects.create(name="Standard", calendar=calendar, first_response_minutes=60)
    ticket = new_ticket(api_channel)
    Ticket.objects.filter(pk=ticket.pk).update(sla_policy=policy)
    client = in_english(sam)

    refused = client.delete(f"{CALENDARS}/{calendar.pk}")
    assert refused.status_code == 409 and "Standard" in refused.json()["detail"]
    refused = client.delete(f"{POLICIES}/{policy.pk}")
    assert refused.status_code == 409 and "1 open tickets" in refused.json()["detail"]

    ticket_update(ticket=ticket, actor=sam, status=Ticket.Status.CLOSED)
    assert client.delete(f"{POLICIES}/{policy.pk}").status_code == 204
    assert client.delete(f"{CALENDARS}/{calendar.pk}").status_code == 204


# A ticket's SLA and the rerun of the rules --------------------------------------------------------------


def test_a_ticket_shows_its_sla(alice: User, api_channel: ChannelAccount) -> None:
    ticket = new_ticket(api_channel, text="Ciao")
    body = client_for(alice).get(f"/api/v1/tickets/{ticket.pk}").json()
    assert body["sla"] == {
        "sla_policy_id": None,
        "sla_due_at": None,
        "sla_breached_at": None,
        "sla_paused": False,
        "sla_metrics": {},
    }


def test_a_supervisor_reruns_the_rules_and_gets_the_ticket(
    sam: User, tech: Team, api_channel: ChannelAccount
) -> None:
    ticket = new_ticket(api_channel, text="La fattura di marzo")
    policy = SLAPolicy.objects.create(name="Invoices", first_response_minutes=60, resolution_minutes=600)
    RoutingRule.objects.create(
        name="Invoices",
        conditions=INVOICES,
        actions={"team": tech.pk, "priority": 4, "sla_policy": policy.pk},
    )

    response = client_for(sam).post(f"/api/v1/tickets/{ticket.pk}/triage")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == ticket.pk and body["team"]["name"] == "Tech" and body["priority"] == 4
    assert body["sla"]["sla_policy_id"] == policy.pk
    assert set(body["sla"]["sla_metrics"]) == {"first_response", "resolution"}
    assert body["sla"]["sla_due_at"] is not None


def test_agents_may_not_rerun_rules_and_closed_tickets_are_409(
    alice: User, sam: User, api_channel: ChannelAccount
) -> None:
    ticket = new_ticket(api_channel)
    assert client_for(alice).post(f"/api/v1/tickets/{ticket.pk}/triage").status_code == 403
    assert client_for(None).post(f"/api/v1/tickets/{ticket.pk}/triage").status_code == 401
    assert client_for(sam).post("/api/v1/tickets/999999/triage").status_code == 404
    ticket_update(ticket=ticket, actor=sam, status=Ticket.Status.CLOSED)
    assert client_for(sam).post(f"/api/v1/tickets/{ticket.pk}/triage").status_code == 409


def test_the_schema_describes_rules_policies_calendars_and_the_ticket_sla() -> None:
    from django.test import Client

    schema = Client().get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in (RULES, POLICIES, CALENDARS):
        assert {"get", "post"} <= set(paths[path]), path
        detail = next(name for name in paths if name.startswith(f"{path}/{{"))
        assert {"get", "put", "patch", "delete"} <= set(paths[detail]), detail
    assert "409" in paths["/api/v1/business-calendars/{calendar_id}"]["delete"]["responses"]
    triage = paths["/api/v1/tickets/{ticket_id}/triage"]["post"]
    assert {"200", "403", "404", "409"} <= set(triage["responses"]) and "requestBody" not in triage
    ticket = schema["components"]["schemas"]["Ticket"]["properties"]
    assert ticket["sla"]["readOnly"] is True
    sla = schema["components"]["schemas"][ticket["sla"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]]
    assert set(sla["properties"]) == {
        "sla_policy_id",
        "sla_due_at",
        "sla_breached_at",
        "sla_paused",
        "sla_metrics",
    }

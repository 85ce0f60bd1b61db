"""Calendars and SLA policies refuse what cannot be used, naming the field, in the admin too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from tickets.models import BusinessCalendar, RoutingRule, SLAPolicy, Team
from tickets.sla_clock import Metric

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_english() -> Iterator[None]:
    """The messages are asserted in English; the desk's default language is Italian."""
    with translation.override("en"):
        yield


@pytest.fixture
def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


OFFICE = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def test_a_calendar_gives_business_hours_with_its_countrys_and_provinces_holidays() -> None:
    milan = BusinessCalendar.objects.create(name="Milano", intervals=OFFICE, subdivision="MI")
    rome = BusinessCalendar.objects.create(name="Roma", intervals=OFFICE, holidays=["06-29"])
    sant_ambrogio = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))
    st_peter = datetime(2026, 6, 29, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))
    assert not milan.hours().is_open(sant_ambrogio) and milan.hours().is_open(st_peter)
    assert rome.hours().is_open(sant_ambrogio) and not rome.hours().is_open(st_peter)
    # Italy's national holidays come with the default country.
    assert not rome.hours().is_open(datetime(2026, 12, 8, 10, 0, tzinfo=ZoneInfo("Europe/Rome")))


def test_a_calendar_that_cannot_be_used_is_refused_naming_each_field() -> None:
    calendar = BusinessCalendar(
        name="Broken",
        time_zone="Europe/Nowhere",
        intervals={"mon": [["18:00"]]},
        holidays=["31-12"],
        country="QQ",
    )
    with pytest.raises(ValidationError) as refused:
        calendar.full_clean()
    errors = refused.value.message_dict
    assert set(errors) == {"time_zone", "intervals", "holidays", "country"}
    assert "Europe/Nowhere" in errors["time_zone"][0]
    with pytest.raises(ValidationError) as empty:
        BusinessCalendar(name="Closed", intervals={}).full_clean()
    assert "no working hours" in empty.value.message_dict["intervals"][0]


def test_a_policys_targets_differ_by_priority_where_it_says_so() -> None:
    policy = SLAPolicy.objects.create(
        name="Standard",
        first_response_minutes=240,
        next_response_minutes=480,
        resolution_minutes=2400,
        priority_targets={"4": {"first_response": 30, "resolution": 480}, "1": {"next_response": None}},
    )
    assert policy.targets_for(2) == {
        Metric.FIRST_RESPONSE: timedelta(hours=4),
        Metric.NEXT_RESPONSE: timedelta(hours=8),
        Metric.RESOLUTION: timedelta(hours=40),
    }
    assert policy.targets_for(4) == {
        Metric.FIRST_RESPONSE: timedelta(minutes=30),
        Metric.NEXT_RESPONSE: timedelta(hours=8),
        Metric.RESOLUTION: timedelta(hours=8),
    }
    assert Metric.NEXT_RESPONSE not in policy.targets_for(1)


@pytest.mark.parametrize(
    ("targets", "says"),
    [
        ([], "Expected an object"),
        ({"5": {}}, "'5' is not a priority"),
        ({"3": 60}, "3: expected an object"),
        ({"3": {"first_reply": 60}}, "3.first_reply: unknown target"),
        ({"3": {"resolution": 0}}, "3.resolution: 0 is not a number"),
        ({"3": {"resolution": "60"}}, "3.resolution: '60' is not a number"),
        ({"3": {"resolution": True}}, "3.resolution: True is not a number"),
    ],
)
def test_per_priority_targets_that_cannot_be_used_are_refused_saying_where(
    targets: object, says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        SLAPolicy(name="Bad", priority_targets=targets).full_clean()
    assert says in refused.value.message_dict["priority_targets"][0]


def test_the_warning_share_must_be_between_one_and_ninety_nine_percent() -> None:
    with pytest.raises(ValidationError) as refused:
        SLAPolicy(name="Late", warning_percent=100).full_clean()
    assert list(refused.value.message_dict) == ["warning_percent"]


def test_the_admin_shows_a_bad_calendar_as_a_form_error_and_stores_nothing(client: Client) -> None:
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    page = client.post(
        "/admin/tickets/businesscalendar/add/",
        {
            "name": "Night desk",
            "time_zone": "Europe/Rome",
            "intervals": json.dumps({"fri": [["22:00", "6:00"]]}),
            "holidays": json.dumps([]),
            "country": "IT",
            "subdivision": "",
        },
    )
    assert page.status_code == 200
    assert "is not a [&quot;HH:MM&quot;, &quot;HH:MM&quot;] pair" in page.content.decode()
    assert not BusinessCalendar.objects.exists()
    saved = client.post(
        "/admin/tickets/businesscalendar/add/",
        {
            "name": "Night desk",
            "time_zone": "Europe/Rome",
            "intervals": json.dumps({"fri": [["22:00", "06:00"]]}),
            "holidays": json.dumps(["12-24"]),
            "country": "IT",
            "subdivision": "",
        },
    )
    assert saved.status_code == 302
    assert BusinessCalendar.objects.get().holidays == ["12-24"]


def test_a_routing_rule_that_cannot_be_evaluated_is_refused_in_the_admin_naming_its_place(
    client: Client,
) -> None:
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    form = {
        "name": "Fatture",
        "order": "10",
        "active": "on",
        "conditions": json.dumps({"all": [{"field": "text", "op": "matches", "value": "(a)\\1"}]}),
        "actions": json.dumps({"priority": 7}),
    }
    page = client.post("/admin/tickets/routingrule/add/", form, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "all[0].value:" in html and "is not a valid regular expression" in html
    assert "actions.priority: 7 is not one of 1, 2, 3, 4" in html
    assert not RoutingRule.objects.exists()
    form["conditions"] = json.dumps({"all": [{"field": "text", "op": "contains_any", "value": ["fattura"]}]})
    form["actions"] = json.dumps({"priority": 3, "tags": ["billing"]})
    assert client.post("/admin/tickets/routingrule/add/", form).status_code == 302
    assert RoutingRule.objects.get().actions == {"priority": 3, "tags": ["billing"]}


def test_a_teams_channel_weights_must_be_kinds_with_whole_numbers_from_one() -> None:
    Team(name="Chat", channel_weights={"webchat": 3, "email": 1}).full_clean()
    for weights, said in (
        ({"webchat": 0}, "webchat: the weight must be a whole number from 1 to 100."),
        ({"webchat": "3"}, "webchat: the weight must be a whole number from 1 to 100."),
        ({"webchat": 2.5}, "webchat: the weight must be a whole number from 1 to 100."),
        ({"": 2}, "'' is not a channel kind."),
        ([["webchat", 3]], "Expected an object of channel kinds and weights"),
    ):
        with pytest.raises(ValidationError) as refused:
            Team(name="Chat", channel_weights=weights).full_clean()
        assert said in " ".join(refused.value.message_dict["channel_weights"]), weights


def test_the_admin_refuses_a_bad_weight_and_stores_nothing(client: Client) -> None:
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    form = {
        "name": "Chat",
        "assignment_strategy": "least_loaded",
        "skills_fallback_minutes": 10,
        "created_at_0": "2026-12-01",
        "created_at_1": "09:00:00",
    }
    page = client.post("/admin/tickets/team/add/", {**form, "channel_weights": json.dumps({"webchat": -1})})
    assert page.status_code == 200 and "whole number from 1 to 100" in page.content.decode()
    assert not Team.objects.exists()
    saved = client.post("/admin/tickets/team/add/", {**form, "channel_weights": json.dumps({"webchat": 3})})
    assert saved.status_code == 302
    assert Team.objects.get().channel_weights == {"webchat": 3}

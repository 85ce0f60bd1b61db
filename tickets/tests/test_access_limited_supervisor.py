"""A supervisor limited to their teams sees as an agent of those teams does, in the UI, the API and live."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_agent, make_api_channel
from tickets.access import can_see_ticket, supervised_team_ids
from tickets.live_access import agent_facts, agents_facts, visible_seq
from tickets.models import AgentProfile, Team
from tickets.tests.api_support import client_for, ids, new_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def lia(billing: Team) -> User:
    """Lia supervises Billing only."""
    return make_agent(
        "lia_limitata", role=AgentProfile.Role.SUPERVISOR, teams=[billing], limited_to_teams=True
    )


@pytest.fixture
def tech_channel(tech: Team) -> ChannelAccount:
    return make_api_channel(team=tech, trust_identities=True)


def test_supervised_teams_are_every_team_their_own_or_refused(
    lia: User, sam: User, alice: User, billing: Team
) -> None:
    assert supervised_team_ids(sam) is None
    assert supervised_team_ids(lia) == [billing.pk]
    with pytest.raises(PermissionDenied):
        supervised_team_ids(alice)
    admin = make_agent("ada_admin", role=AgentProfile.Role.ADMIN, limited_to_teams=True)
    # The flag never limits an administrator.
    assert supervised_team_ids(admin) is None


def test_an_inactive_supervisor_supervises_nothing(sam: User) -> None:
    sam.is_active = False
    sam.save(update_fields=["is_active"])
    with pytest.raises(PermissionDenied):
        supervised_team_ids(sam)


def test_the_api_lists_only_the_limited_supervisors_teams(
    lia: User, sam: User, api_channel: ChannelAccount, tech_channel: ChannelAccount
) -> None:
    billing_ticket = new_ticket(api_channel)
    tech_ticket = new_ticket(tech_channel)
    assert sorted(ids(client_for(sam).get("/api/v1/tickets"))) == sorted([billing_ticket.pk, tech_ticket.pk])
    assert ids(client_for(lia).get("/api/v1/tickets")) == [billing_ticket.pk]
    assert client_for(lia).get(f"/api/v1/tickets/{tech_ticket.pk}").status_code == 404
    assert can_see_ticket(lia, billing_ticket) and not can_see_ticket(lia, tech_ticket)


def test_the_inbox_shows_the_limited_supervisor_no_other_teams_ticket(
    lia: User, api_channel: ChannelAccount, tech_channel: ChannelAccount
) -> None:
    new_ticket(api_channel, subject="Fattura doppia")
    tech_ticket = new_ticket(tech_channel, subject="Router spento")
    client = Client()
    client.force_login(lia)
    assert client.get(f"/tickets/{tech_ticket.pk}/").status_code == 404
    assert client.get("/inbox/all/").status_code == 404
    team_inbox = client.get(f"/inbox/team/{tech_ticket.team_id}/")
    assert team_inbox.status_code == 404
    assert "Fattura doppia" in client.get("/inbox/unassigned/").content.decode()


def test_the_desk_settings_stay_with_supervisors_who_see_all(lia: User) -> None:
    response = client_for(lia).post("/api/v1/routing-rules", {"name": "x"}, format="json")
    assert response.status_code == 403


def test_a_limited_supervisor_hears_their_teams_not_the_supervisors_group(
    lia: User, sam: User, billing: Team, api_channel: ChannelAccount, tech_channel: ChannelAccount
) -> None:
    facts = agents_facts([lia.pk, sam.pk])
    assert not facts[lia.pk].sees_all and facts[sam.pk].sees_all
    assert "supervisors" not in facts[lia.pk].groups()
    assert f"team.{billing.pk}" in facts[lia.pk].groups()
    assert agent_facts(lia) == facts[lia.pk]
    tech_ticket = new_ticket(tech_channel)
    assert visible_seq(lia.pk, tech_ticket.pk) is None
    assert visible_seq(sam.pk, tech_ticket.pk) == tech_ticket.seq

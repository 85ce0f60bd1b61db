"""The presence header: the agent's own status, the team panel's audience, and the no-JavaScript form.

Alice and Bob are Billing, Carla is Tech, Sam supervises both (and is a member of both); Ada is an admin
of no team. An agent sees the agents of their teams; supervisors and admins see everyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from channels_in.models import ChannelAccount
from realtime import leases
from tests.fixtures.browser import customer_writes
from tests.fixtures.personas import make_agent
from tickets.models import AgentProfile, Team
from tickets.services import presence

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_leases() -> Iterator[leases.LeaseStore]:
    """A lease store of this test's own: a socket faked here must not keep anyone online elsewhere."""
    store = leases.MemoryLeaseStore()
    previous = leases.stores.use(store)
    yield store
    leases.stores.use(previous)


def page(client: Client, user: User, path: str = "/inbox/mine/", *, language: str = "en") -> str:
    AgentProfile.objects.filter(user=user).update(ui_language=language)
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def listed(html: str) -> dict[int, str]:
    """The team panel's agents: user id → presence shown."""
    return {
        int(user_id): state
        for user_id, state in re.findall(r'data-agent-presence="(\d+)" data-presence="(\w+)"', html)
    }


def control(html: str) -> str:
    found = re.search(r"<form[^>]*data-presence-control.*?</form>", html, re.S)
    assert found, "no presence control in the header"
    return found[0]


def state_shown(html: str) -> str:
    found = re.search(r'data-testid="presence-state">([^<]*)<', control(html))
    assert found
    return found[1]


def chosen_option(html: str) -> str:
    found = re.search(r'<option value="(\w+)" selected>', control(html))
    assert found
    return found[1]


def set_presence(user: User, *, presence_now: str, manual: str = "") -> None:
    AgentProfile.objects.filter(user=user).update(presence=presence_now, presence_manual=manual)


def test_header_shows_the_agents_own_presence(client: Client, alice: User) -> None:
    set_presence(alice, presence_now="away", manual="away")
    html = page(client, alice)
    assert 'data-presence="away"' in control(html)
    assert state_shown(html) == "Away"
    assert "(chosen)" in control(html)
    assert chosen_option(html) == "away"

    set_presence(alice, presence_now="online")
    html = page(client, alice)
    assert state_shown(html) == "Online"
    assert "(automatic)" in control(html)
    assert chosen_option(html) == "auto"
    assert re.search(r'<label for="presence-select">My status</label>', control(html))


def test_header_is_in_italian_for_an_italian_agent(client: Client, alice: User) -> None:
    set_presence(alice, presence_now="away", manual="away")
    html = page(client, alice, language="it")
    assert state_shown(html) == "Assente"
    assert "(manuale)" in control(html)
    assert ">Automatico</option>" in control(html)
    assert "Colleghi online" in html


def test_team_panel_lists_only_the_agents_of_the_viewers_teams(
    client: Client, alice: User, bob: User, carla: User, sam: User, tech: Team
) -> None:
    set_presence(bob, presence_now="away")
    set_presence(sam, presence_now="online")
    # Dana left: deactivated accounts are nobody's teammates.
    User.objects.filter(pk=make_agent("dana_nera", teams=[tech]).pk).update(is_active=False)

    assert listed(page(client, alice)) == {bob.pk: "away", sam.pk: "online"}
    assert listed(page(client, bob)) == {alice.pk: "offline", sam.pk: "online"}
    assert listed(page(client, carla)) == {sam.pk: "online"}


def test_supervisors_and_admins_see_every_agent(
    client: Client, alice: User, bob: User, carla: User, sam: User
) -> None:
    ada = make_agent("ada_admin", role=AgentProfile.Role.ADMIN)
    everyone = {alice.pk, bob.pk, carla.pk, sam.pk, ada.pk}

    sams_page = page(client, sam)
    assert set(listed(sams_page)) == everyone - {sam.pk}
    assert "Agents online" in sams_page
    assert set(listed(page(client, ada))) == everyone - {ada.pk}


def test_an_agent_of_no_team_sees_nobody(client: Client, alice: User) -> None:
    loner = make_agent("lino_solo")
    html = page(client, loner)
    assert listed(html) == {}
    assert "Nobody else in your teams." in html


def test_team_panel_counts_who_is_online(client: Client, alice: User, bob: User, sam: User) -> None:
    set_presence(bob, presence_now="online")
    set_presence(sam, presence_now="away")
    html = page(client, alice)
    assert re.search(r'data-testid="team-online-count">1<', html)


def test_team_panel_costs_one_query_however_big_the_team(client: Client, alice: User, billing: Team) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/inbox/mine/").status_code == 200
        return len(captured)

    make_agent("uno_primo", teams=[billing])
    page(client, alice)
    few = queries()
    for n in range(8):
        make_agent(f"agent_{n}", teams=[billing])
    assert queries() == few
    assert len(listed(page(client, alice))) == 9


def test_the_ticket_page_has_the_header_too(
    client: Client, alice: User, bob: User, api_channel: ChannelAccount
) -> None:
    ticket = customer_writes(api_channel, "Ciao")
    html = page(client, alice, f"/tickets/{ticket.pk}/")
    assert state_shown(html) == "Offline"
    assert set(listed(html)) == {bob.pk}


# --- the form, for a page without a socket ----------------------------------------------------------------


def csrf_client(user: User) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    html = page(client, user)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', control(html))
    assert token
    return client, token[1]


def test_the_form_sets_presence_through_the_service(alice: User) -> None:
    presence.presence_connect(user_id=alice.pk, connection="tab-1")  # a tab of Alice's is open
    client, token = csrf_client(alice)

    response = client.post(
        "/presence/", {"presence": "away", "next": "/inbox/unassigned/", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302 and response["Location"] == "/inbox/unassigned/"
    profile = AgentProfile.objects.get(user=alice)
    assert (profile.presence, profile.presence_manual) == ("away", "away")

    client.post("/presence/", {"presence": "auto", "csrfmiddlewaretoken": token})
    profile.refresh_from_db()
    assert (profile.presence, profile.presence_manual) == ("online", "")


def test_the_form_without_a_socket_records_the_choice_for_later(alice: User) -> None:
    client, token = csrf_client(alice)
    client.post("/presence/", {"presence": "away", "csrfmiddlewaretoken": token})
    profile = AgentProfile.objects.get(user=alice)
    assert (profile.presence, profile.presence_manual) == ("offline", "away")
    # The next socket brings the choice, not "online".
    assert presence.presence_connect(user_id=alice.pk, connection="tab-1") == "away"


def test_the_form_needs_csrf_a_known_status_and_an_agent(client: Client, alice: User) -> None:
    strict, token = csrf_client(alice)
    assert strict.post("/presence/", {"presence": "away"}).status_code == 403
    assert strict.post("/presence/", {"presence": "busy", "csrfmiddlewaretoken": token}).status_code == 400
    assert strict.get("/presence/").status_code == 405
    assert AgentProfile.objects.get(user=alice).presence_manual == ""

    response = client.post("/presence/", {"presence": "away"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    visitor = User.objects.create_user("visitor", password="password")
    client.force_login(visitor)
    assert client.post("/presence/", {"presence": "away"}).status_code == 403


def test_the_form_never_redirects_off_site(alice: User) -> None:
    client, token = csrf_client(alice)
    response = client.post(
        "/presence/", {"presence": "away", "next": "https://evil.example/", "csrfmiddlewaretoken": token}
    )
    assert response["Location"] == "/"

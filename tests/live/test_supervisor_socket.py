"""The dashboard's socket side: a supervisor limited to a team hears that team's tickets and agents and no
other, on real servers in both modes (the dashboard refreshes its figures from what the socket hears)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_agent, make_api_channel
from tests.live.conftest import LiveStack, open_socket, run, session_cookie
from tests.live.test_agent_socket import is_event, post_inbound
from tickets.models import AgentProfile, Team, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_limited_supervisors_socket_never_hears_another_teams_ticket(
    live_stack: LiveStack, api_channel: ChannelAccount, billing: Team, tech: Team, sam: User, carla: User
) -> None:
    lia = make_agent(
        "lia_limitata", role=AgentProfile.Role.SUPERVISOR, teams=[billing], limited_to_teams=True
    )
    tech_channel = make_api_channel(team=tech, trust_identities=True)
    lia_cookie, sam_cookie, carla_cookie = session_cookie(lia), session_cookie(sam), session_cookie(carla)

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        lias = await open_socket(live_stack, lia_cookie, index=1)
        hello = next(frame for frame in lias.seen if frame["type"] == "hello")
        sams = await open_socket(live_stack, sam_cookie, index=0)
        # Carla comes online: Tech's presence, which Lia must not hear either.
        carlas = await open_socket(live_stack, carla_cookie, index=0)
        await post_inbound(live_stack, tech_channel, "t-1", "Il router non va", sender="cust-t")
        await post_inbound(live_stack, api_channel, "b-1", "Fattura doppia", sender="cust-b", index=1)
        await sams.until(is_event("message.created"))
        await sams.until(is_event("message.created"))
        await lias.until(is_event("message.created"))
        for sock in (lias, sams, carlas):
            await sock.drain(0.7)
            await sock.close()
        return hello, lias.seen, sams.seen

    hello, lia_frames, sam_frames = run(scenario())
    billing_ticket, tech_ticket = Ticket.objects.get(team=billing), Ticket.objects.get(team=tech)
    assert "supervisors" not in hello["groups"] and f"team.{billing.pk}" in hello["groups"]
    assert {frame["ticket_id"] for frame in lia_frames if "ticket_id" in frame} == {billing_ticket.pk}
    assert {frame["ticket_id"] for frame in sam_frames if "ticket_id" in frame} == {
        billing_ticket.pk,
        tech_ticket.pk,
    }
    heard = {frame["agent_id"] for frame in lia_frames if frame["type"] == "presence.changed"}
    assert carla.pk not in heard
    assert carla.pk in {frame["agent_id"] for frame in sam_frames if frame["type"] == "presence.changed"}

"""The demo help desk, composed: the domain's people and conversations (``tickets.demo``) on the demo
API channel (``channels_in.api.demo``), then each channel's own demo part.

A channel adds its part with a module ``channels_in/<kind>/demo.py`` defining
``demo_seed(context: DemoContext) -> None`` (idempotent too; it runs with tasks deferred, so its
replies are delivered by the server) and, optionally, ``LINKS``: a list of ``(label, path)`` pairs
that ``manage.py serve`` prints with the other addresses.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from types import ModuleType

from channels_in.api import demo as api_demo
from channels_in.models import ChannelAccount
from tickets import demo, demo_history, demo_sla
from tickets.demo import DemoContext
from tickets.tasks import tasks_deferred


@dataclass
class DemoSummary:
    conversations_added: int = 0
    conversations_present: int = 0
    channel_parts: list[str] = field(default_factory=list)


def demo_seed() -> DemoSummary:
    """Create whatever part of the demo is missing; running it again changes nothing."""
    people = demo.demo_people_seed()
    channel = api_demo.api_channel_ensure(team=people.teams[demo.TECH])
    context = DemoContext(
        supervisor=people.supervisor, agents=people.agents, teams=people.teams, api_channel=channel
    )
    added, present = demo.conversations_seed(
        context, sender=lambda customer: api_demo.customer_claim(channel, customer)
    )
    demo_sla.sla_demo_seed(people, channel_id=channel.pk)
    summary = DemoSummary(conversations_added=added, conversations_present=present)
    for name, module in channel_demo_modules().items():
        seed = getattr(module, "demo_seed", None)
        if seed is not None:
            # Channel parts send their replies the same way: the server delivers them.
            with tasks_deferred():
                seed(context)
            summary.channel_parts.append(name)
    # The weeks before today, on the channels made above: something for the dashboard and the reports.
    demo_history.history_seed(people)
    return summary


def demo_context() -> DemoContext | None:
    """The demo's people and channel if they have been seeded, else None."""
    people = demo.demo_people()
    channel = api_demo.api_channel_get()
    if people is None or channel is None:
        return None
    return DemoContext(
        supervisor=people.supervisor, agents=people.agents, teams=people.teams, api_channel=channel
    )


def channel_demo_modules() -> dict[str, ModuleType]:
    """The ``channels_in.<kind>.demo`` modules that exist, by channel kind."""
    found: dict[str, ModuleType] = {}
    for kind in ChannelAccount.Kind.values:
        name = f"channels_in.{kind}.demo"
        try:
            present = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            present = False
        if present:
            found[kind] = importlib.import_module(name)
    return found


def demo_links() -> list[tuple[str, str]]:
    """Extra ``(label, path)`` addresses the channels' demo modules want shown."""
    links: list[tuple[str, str]] = []
    for module in channel_demo_modules().values():
        links.extend(getattr(module, "LINKS", []))
    return links

"""The rows a contract run works on: a supervisor with a token, an API channel, and a little of every
thing the API shows (tickets with a reply, a failed reply, a note with a file, a merge, a canned
response, a routing rule, an SLA policy and its calendar), so that generated requests meet real objects
as well as missing ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.authtoken.models import Token

from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_agent, make_api_channel
from tickets.models import AgentProfile, Contact, Team
from tickets.services.canned import canned_response_create
from tickets.services.contacts import contact_merge
from tickets.services.messages import message_send_reply, note_add
from tickets.services.outgoing_attachments import Upload
from tickets.services.routing_config import business_calendar_create, routing_rule_create, sla_policy_create
from tickets.tests.api_support import customer_writes

# The smallest valid PNG: one transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


@dataclass(frozen=True)
class Seeded:
    token: str
    channel: ChannelAccount


def seed() -> Seeded:
    billing, tech = Team.objects.create(name="Billing"), Team.objects.create(name="Tech")
    sam = make_agent("sam_supervisor", role=AgentProfile.Role.SUPERVISOR, teams=[billing, tech])
    alice = make_agent("alice_rossi", teams=[billing])
    # No callback URL: replies on it fail at once, so there is a failed reply to retry.
    channel = make_api_channel(team=billing, trust_identities=True)
    contacts = []
    for number, name in enumerate(["Maria Rossi", "Luca Bianchi", "Giulia Neri", "Paolo Verdi"]):
        filed = customer_writes(channel, sender=f"cust-{number}", name=name, text=f"Messaggio {number}")
        customer_writes(channel, sender=f"cust-{number}", name=name, text="Ci siete?")
        contacts.append(filed.ticket.contact_id)
        message_send_reply(ticket=filed.ticket, author=sam, text="Buongiorno, verifichiamo.")
    note_add(
        ticket=filed.ticket,
        author=alice,
        text="Ricevuta allegata.",
        attachments=[Upload(filename="ricevuta.png", content_type="image/png", content=PNG)],
    )
    contact_merge(
        source=Contact.objects.get(pk=contacts[3]),
        target=Contact.objects.get(pk=contacts[2]),
        actor=sam,
        reason="same person",
    )
    canned_response_create(title="Saluto", shortcut="ciao", body="Buongiorno!", team=None, actor=sam)
    calendar = business_calendar_create(
        actor=sam, name="Roma", intervals={"mon": [["09:00", "18:00"]], "fri": [["09:00", "13:00"]]}
    )
    policy = sla_policy_create(actor=sam, name="Standard", calendar=calendar, first_response_minutes=60)
    routing_rule_create(
        actor=sam,
        name="Fatture",
        conditions={"all": [{"field": "subject_or_text", "op": "contains_any", "value": ["fattura"]}]},
        actions={"team": tech.pk, "sla_policy": policy.pk},
    )
    return Seeded(token=Token.objects.create(user=sam).key, channel=channel)

"""What a web-chat visitor's widget changes in the domain besides their messages (ingest files those)."""

from __future__ import annotations

from tickets import events
from tickets.inbound import IdentityKind
from tickets.models import ContactIdentity, Message
from tickets.services.messages import message_status_update


def visitor_replies_read(*, account_id: int, visitor_id: str, up_to: int) -> int:
    """The visitor has seen the replies up to ``up_to``: mark the delivered ones read for the agents.

    Returns how many of those replies are still on their way out (queued or sending): the caller marks
    them once their delivery is recorded, so "read" never lands before "sent".
    """
    identity = ContactIdentity.objects.filter(kind=IdentityKind.WEBCHAT, value=visitor_id).first()
    if identity is None:
        return 0
    replies = Message.objects.filter(
        identity=identity, channel_account_id=account_id, direction=Message.Direction.OUTBOUND, pk__lte=up_to
    )
    for message in replies.filter(status__in=[Message.Status.SENT, Message.Status.DELIVERED]).select_related(
        "ticket"
    )[:100]:
        message_status_update(message=message, status=Message.Status.READ)
    return replies.filter(status__in=[Message.Status.QUEUED, Message.Status.SENDING]).count()


def customer_typing_announce(*, ticket_id: int, state: bool) -> None:
    """The customer is typing in the web chat (or stopped): the agents with the ticket open see it.

    Live only (no ``seq``); the ticket's group holds exactly the screens showing it, each admitted by
    the visibility check when it subscribed.
    """
    events.publish_on_commit(
        groups=[events.ticket_group(ticket_id)],
        event=events.ephemeral_event("customer.typing", ticket_id=ticket_id, state=state),
    )

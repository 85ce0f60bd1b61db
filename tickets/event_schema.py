"""The shape of every live event, checked in tests so a payload cannot drift from ``docs/events.md``.

Ticket events are recorded (``TicketEvent``) and carry the ticket's ``seq``; ephemeral events (typing,
presence, collision) are not recorded and carry no ``seq``. Every model forbids unknown keys, so adding a
field to a payload means adding it here and to the docs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class TicketData(_Strict):
    id: int
    subject: str
    status: str
    priority: int
    team_id: int | None
    assignee_id: int | None
    contact_id: int
    channel_id: int | None
    updated_at: str | None


class MessageData(_Strict):
    id: int
    direction: Literal["inbound", "outbound", "note", "system"]
    channel_id: int | None
    author_id: int | None
    text: str
    status: str
    is_public: bool
    sent_at: str


class VisitorMessageData(_Strict):
    """What a customer's widget learns about a message: no ids of staff, no internal fields."""

    id: int
    direction: Literal["inbound", "outbound"]
    text: str
    status: str
    sent_at: str


class StatusChange(_Strict):
    from_: str = Field(alias="from")
    to: str
    ticket: TicketData


class PriorityChange(_Strict):
    from_: int = Field(alias="from")
    to: int
    ticket: TicketData


class ReferenceChange(_Strict):
    """A team or an assignee moved; ``None`` means none."""

    from_: int | None = Field(alias="from")
    to: int | None
    ticket: TicketData


class TagsChange(_Strict):
    from_: list[str] = Field(alias="from")
    to: list[str]
    ticket: TicketData


class ContactChange(_Strict):
    from_: int = Field(alias="from")
    to: int
    ticket: TicketData


class Merged(_Strict):
    into: int
    previous_status: str
    contact_merge_id: int | None
    ticket: TicketData


class MergedIn(_Strict):
    from_: int = Field(alias="from")
    ticket: TicketData


class Unmerged(_Strict):
    """On the ticket taken back out: ``from`` the one it had been merged into; on that one: ``ticket_id``."""

    from_: int | None = Field(default=None, alias="from")
    ticket_id: int | None = None
    ticket: TicketData


class ContactMergeUndone(_Strict):
    """On the target contact's open tickets: the contact ``source_id`` was taken back out of it."""

    merge_id: int
    source_id: int
    ticket: TicketData


class Split(_Strict):
    """On the ticket a message was split off from: the new ticket and the message that moved to it."""

    ticket_id: int
    message_id: int
    ticket: TicketData


class DeliveryStatus(_Strict):
    message_id: int
    status: Literal["received", "queued", "sending", "sent", "delivered", "read", "failed"]
    reason: str


class MessageEdited(_Strict):
    """The customer changed a message on their channel: its new text (the previous one is kept)."""

    message_id: int
    text: str
    edited_at: str


class MessageDeleted(_Strict):
    """The customer withdrew a message on their channel; it stays on the timeline, marked deleted."""

    message_id: int
    deleted_at: str


class MessageReaction(_Strict):
    """The customer put an emoji on a message (``added``) or took it back, from the identity named."""

    message_id: int
    emoji: str
    added: bool
    identity_kind: str
    identity_value: str


SlaMetricName = Literal["first_response", "next_response", "resolution"]


class SlaMetric(_Strict):
    """One clock of a ticket: when it falls due (``None`` unless it runs), when it was met, its alarms."""

    due_at: str | None
    fulfilled_at: str | None
    breached: bool
    warned: bool


class SlaApplied(_Strict):
    """A policy was given to the ticket, with the due times it gives (``tickets.services.sla.sla_data``)."""

    policy_id: int
    sla_policy_id: int | None
    sla_due_at: str | None
    sla_breached_at: str | None
    sla_paused: bool
    sla_metrics: dict[SlaMetricName, SlaMetric]
    ticket: TicketData


class SlaAlarm(_Strict):
    """A warning or a breach of one metric; ``notify`` says whether the policy wants people told."""

    metric: SlaMetricName
    due_at: str | None
    alarm_at: str
    notify: bool
    ticket: TicketData


TICKET_EVENT_DATA: dict[str, type[BaseModel]] = {
    "ticket.created": TicketData,
    "ticket.reopened": TicketData,
    "ticket.status_changed": StatusChange,
    "ticket.priority_changed": PriorityChange,
    "ticket.team_changed": ReferenceChange,
    "ticket.assigned": ReferenceChange,
    "ticket.tags_changed": TagsChange,
    "ticket.contact_changed": ContactChange,
    "ticket.merged": Merged,
    "ticket.merged_in": MergedIn,
    "ticket.unmerged": Unmerged,
    "ticket.split": Split,
    "ticket.contact_merge_undone": ContactMergeUndone,
    "ticket.sla_applied": SlaApplied,
    "ticket.sla_warning": SlaAlarm,
    "ticket.sla_breached": SlaAlarm,
    "message.created": MessageData,
    "message.status": DeliveryStatus,
    "message.edited": MessageEdited,
    "message.deleted": MessageDeleted,
    "message.reaction": MessageReaction,
}


class TicketEnvelope(_Strict):
    type: str
    ticket_id: int
    seq: int = Field(ge=1)
    at: str
    actor_id: int | None
    data: dict[str, Any]


class VisitorEnvelope(_Strict):
    type: Literal["message.created"]
    ticket_id: int
    seq: int = Field(ge=1)
    at: str
    data: VisitorMessageData


class VisitorTypingEvent(_Strict):
    """Someone on the staff side is typing; the visitor is not told who."""

    type: Literal["visitor.typing"]
    ticket_id: int
    state: bool
    at: str


class VisitorMessageSent(_Strict):
    """The web-chat channel handed a reply over; the widget re-reads it through the visitor's filter."""

    type: Literal["message.sent"]
    ticket_id: int
    data: dict[str, int]


VISITOR_EVENTS: dict[str, type[BaseModel]] = {
    "message.created": VisitorEnvelope,
    "visitor.typing": VisitorTypingEvent,
    "message.sent": VisitorMessageSent,
}


class TypingEvent(_Strict):
    type: Literal["typing"]
    ticket_id: int
    agent_id: int
    state: bool
    at: str


class CustomerTypingEvent(_Strict):
    """The customer is typing in the web-chat widget; the agent's page names them from the ticket."""

    type: Literal["customer.typing"]
    ticket_id: int
    state: bool
    at: str


class PresenceEvent(_Strict):
    type: Literal["presence.changed"]
    agent_id: int
    presence: Literal["online", "away", "offline"]
    manual: Literal["", "online", "away", "offline"]
    at: str


class CollisionEvent(_Strict):
    type: Literal["ticket.collision"]
    ticket_id: int
    viewing: list[int]
    replying: list[int]
    at: str


class SlaChangedEvent(_Strict):
    """The ticket's due times moved (a reply, a pause, a customer waiting): live only, to its staff."""

    type: Literal["ticket.sla_changed"]
    ticket_id: int
    sla_policy_id: int | None
    sla_due_at: str | None
    sla_breached_at: str | None
    sla_paused: bool
    sla_metrics: dict[SlaMetricName, SlaMetric]
    at: str


EPHEMERAL_EVENTS: dict[str, type[BaseModel]] = {
    "typing": TypingEvent,
    "customer.typing": CustomerTypingEvent,
    "presence.changed": PresenceEvent,
    "ticket.collision": CollisionEvent,
    "ticket.sla_changed": SlaChangedEvent,
}


class EventSchemaError(ValueError):
    pass


def check_event(event: dict[str, Any], *, for_visitor: bool = False) -> None:
    """Raise ``EventSchemaError`` unless ``event`` matches the schema of its type exactly."""
    kind = event.get("type")
    try:
        if for_visitor:
            if kind not in VISITOR_EVENTS:
                raise EventSchemaError(f"no visitor event of type {kind!r}")
            VISITOR_EVENTS[kind].model_validate(event)
        elif kind in EPHEMERAL_EVENTS:
            EPHEMERAL_EVENTS[kind].model_validate(event)
        elif kind in TICKET_EVENT_DATA:
            TicketEnvelope.model_validate(event)
            TICKET_EVENT_DATA[kind].model_validate(event["data"])
        else:
            raise EventSchemaError(f"unknown event type {kind!r}")
    except ValidationError as error:
        raise EventSchemaError(f"{kind}: {error}") from error


ALL_EVENT_TYPES = sorted([*TICKET_EVENT_DATA, *EPHEMERAL_EVENTS])

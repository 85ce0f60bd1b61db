from tickets.models.config import BusinessCalendar, CannedResponse, RoutingRule, SLAPolicy, Survey
from tickets.models.contacts import Contact, ContactIdentity, ContactMerge, MergeSuggestion
from tickets.models.messages import Attachment, Message
from tickets.models.reporting import ReportHour, ReportRollupState, TicketActivity, TicketFact
from tickets.models.teams import AgentProfile, Team
from tickets.models.tickets import SlaMetricEvent, Tag, Ticket, TicketEvent

__all__ = [
    "AgentProfile",
    "Attachment",
    "BusinessCalendar",
    "CannedResponse",
    "Contact",
    "ContactIdentity",
    "ContactMerge",
    "MergeSuggestion",
    "Message",
    "ReportHour",
    "ReportRollupState",
    "RoutingRule",
    "SLAPolicy",
    "SlaMetricEvent",
    "Survey",
    "Tag",
    "Team",
    "Ticket",
    "TicketActivity",
    "TicketEvent",
    "TicketFact",
]

"""Files on the ticket screen: safe downloads out, the way ``tickets.files`` serves every file."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest

from tickets.access import visible_tickets_q
from tickets.files import attachment_response
from tickets.models import Attachment, Ticket
from tickets.views.common import agent_required


@agent_required
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    """A file of a message on a ticket this agent may see; 404 for any other, as for a missing one."""
    visible = Ticket.objects.filter(visible_tickets_q(request.user))
    row = Attachment.objects.filter(pk=attachment_id, message__ticket__in=visible).first()
    if row is None or not row.file:
        raise Http404("No such file.")
    return attachment_response(row, preview=request.GET.get("preview") == "1")

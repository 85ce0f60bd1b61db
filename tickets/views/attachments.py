"""Files on the ticket screen: the composer's uploads in, and safe downloads out.

Customer files are untrusted: they are sent as downloads (``Content-Disposition: attachment``, a
neutral content type) and only raster images are shown inline, as images, with ``nosniff`` and a
sandboxing CSP, so nothing in a file can run in the workspace's origin.
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest

from tickets.access import visible_tickets_q
from tickets.models import Attachment, Ticket
from tickets.sanitize import filename_clean
from tickets.templatetags.workspace import previewable
from tickets.views.common import agent_required


def attachment_response(row: Attachment, *, preview: bool) -> FileResponse:
    """The file as a download, or a raster image inline when ``preview`` is asked and it is one."""
    inline = preview and previewable(row.content_type)
    response = FileResponse(
        row.file.open("rb"),
        as_attachment=not inline,
        # Cleaned again: a row stored before names were normalised may still carry a disguise.
        filename=filename_clean(row.filename),
        content_type=row.content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@agent_required
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    """A file of a message on a ticket this agent may see; 404 for any other, as for a missing one."""
    visible = Ticket.objects.filter(visible_tickets_q(request.user))
    row = Attachment.objects.filter(pk=attachment_id, message__ticket__in=visible).first()
    if row is None or not row.file:
        raise Http404("No such file.")
    return attachment_response(row, preview=request.GET.get("preview") == "1")

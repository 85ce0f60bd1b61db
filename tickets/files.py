"""How a stored file leaves Sportello, whoever asked for it (an agent's screen, the API, a visitor's widget).

Customer files are untrusted: they are sent as downloads (``Content-Disposition: attachment``, a
neutral content type) and only raster images are shown inline, as images, with ``nosniff`` and a
sandboxing CSP, so nothing in a file can run in the origin that serves it.
"""

from __future__ import annotations

from django.http import FileResponse

from tickets.models import Attachment
from tickets.sanitize import filename_clean
from tickets.templatetags.workspace import previewable


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

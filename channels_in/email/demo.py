"""Demo part of the email channel: a support mailbox and tickets built from real sample mails.

A thread whose answer quotes our reply, a mail with an attachment, an HTML-only newsletter-style
mail and a phone reply with its signature: a newcomer sees email as agents will (new text first,
quotes and signatures set apart, the raw mail kept on its inbound event). Every mail goes through
the real path: recorded as an InboundEvent, then processed as the ingest task does.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from django.utils import timezone

from channels_in.email.intake import mail_record
from channels_in.inbound import inbound_event_process
from channels_in.models import ChannelAccount
from tickets.models import Message
from tickets.services.messages import message_send_reply

if TYPE_CHECKING:
    from tickets.demo import DemoContext

MAILBOX_KEY = "demo-email"
MAILBOX_ADDRESS = "assistenza@sportello.localhost"
RAW_TOKEN = "sportello-demo-mail-token"
LINKS = [
    ("Email, raw MIME intake (Bearer sportello-demo-mail-token)", f"/api/v1/inbound/email/{MAILBOX_KEY}/raw")
]

_CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"
# Real mails from the test corpus (attribution in fixtures/README.md), shown as they arrived.
SAMPLES = (
    "chatwoot/mail_with_quote.eml",  # a reply quoting the earlier thread
    "chatwoot/html_and_attachments.eml",  # HTML with an attachment
    "chatwoot/welcome_html.eml",  # HTML only, a forwarded newsletter
    "talon/standard_replies/iphone.eml",  # "Sent from my iPhone" below a quoted history
)


def mailbox_ensure(context: DemoContext | None = None) -> ChannelAccount:
    team = None
    if context is not None:
        team = next(iter(context.teams.values()), None)
    account, _ = ChannelAccount.objects.get_or_create(
        key=MAILBOX_KEY,
        defaults={
            "kind": ChannelAccount.Kind.EMAIL,
            "name": "Assistenza (email)",
            "default_team": team,
            "config": {
                "address": MAILBOX_ADDRESS,
                "from_name": "Assistenza Sportello",
                "plus_addressing": True,
                "inbound_token": RAW_TOKEN,
                # No mail server in the demo: replies are "sent" to the server's console.
                "email_backend": "django.core.mail.backends.console.EmailBackend",
            },
        },
    )
    return account


def _file(account: ChannelAccount, raw: bytes) -> None:
    recorded = mail_record(account=account, raw=raw, source="demo")
    inbound_event_process(event_id=recorded.event.pk)


def _italian_first_mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = "Chiara Esposito <chiara.esposito@example.it>"
    mail["To"] = f"Assistenza <{MAILBOX_ADDRESS}>"
    mail["Subject"] = "Router in comodato: la spia rossa lampeggia"
    mail["Date"] = format_datetime(timezone.now())
    mail["Message-ID"] = "<demo-email-chiara-1@example.it>"
    mail.set_content(
        "Buongiorno,\n\nda ieri sera la spia rossa del router lampeggia e non navighiamo.\n"
        "Abbiamo già provato a spegnerlo e riaccenderlo.\n\nGrazie,\nChiara Esposito\n"
    )
    return bytes(mail)


def _italian_answer(reply: Message) -> bytes:
    """Chiara's client answering our reply: threading headers, token, our text quoted below hers."""
    ticket = reply.ticket
    quoted = "\n".join(f"> {line}" for line in reply.text.splitlines())
    mail = EmailMessage()
    mail["From"] = "Chiara Esposito <chiara.esposito@example.it>"
    mail["To"] = f"Assistenza Sportello <assistenza+{ticket.token}@sportello.localhost>"
    mail["Subject"] = f"Re: {ticket.subject} [#{ticket.token}]"
    mail["Date"] = format_datetime(timezone.now())
    mail["Message-ID"] = "<demo-email-chiara-2@example.it>"
    mail["In-Reply-To"] = (
        f"<{reply.external_id}>" if reply.external_id else "<demo-email-chiara-1@example.it>"
    )
    mail["References"] = f"<demo-email-chiara-1@example.it> {mail['In-Reply-To']}"
    mail.set_content(
        "Ho fatto il reset come indicato e ora la spia è verde: funziona!\n\n"
        f"Il giorno oggi Assistenza Sportello <{MAILBOX_ADDRESS}> ha scritto:\n{quoted}\n\n"
        "Inviato da iPhone\n"
    )
    return bytes(mail)


def demo_seed(context: DemoContext | None = None) -> None:
    """Idempotent: every mail is recorded under its Message-ID, so a second run finds the first."""
    account = mailbox_ensure(context)
    for name in SAMPLES:
        _file(account, (_CORPUS / name).read_bytes())
    first = _italian_first_mail()
    _file(account, first)
    opening = Message.objects.filter(
        channel_account=account, external_id="demo-email-chiara-1@example.it"
    ).first()
    if opening is None or context is None:
        return
    replied = Message.objects.filter(ticket=opening.ticket, direction=Message.Direction.OUTBOUND).first()
    if replied is None:
        agent = next(iter(context.agents.values()), context.supervisor)
        replied = message_send_reply(
            ticket=opening.ticket,
            author=agent,
            text=(
                "Gentile Chiara,\n\ntenga premuto il tasto Reset sul retro per 10 secondi, "
                "poi attenda due minuti che il router si riavvii.\n\nUn saluto,\nAssistenza Sportello"
            ),
        )
    _file(account, _italian_answer(replied))


def seed_email_demo() -> ChannelAccount:
    """The email part of the demo, for callers outside ``channels_in.demo.demo_seed``."""
    from channels_in.demo import demo_context

    demo_seed(demo_context())
    return ChannelAccount.objects.get(key=MAILBOX_KEY)

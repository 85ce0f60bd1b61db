"""ESP inbound webhooks, through Anymail: every provider's payload arrives as one normalized signal."""

from __future__ import annotations

import logging
from typing import Any

from anymail.signals import AnymailInboundEvent, inbound
from django.dispatch import receiver

from channels_in.email.intake import mail_record
from channels_in.email.schemas import MailboxConfigError, mailbox_config
from channels_in.models import ChannelAccount

logger = logging.getLogger(__name__)


def mailbox_for(recipients: list[str]) -> ChannelAccount | None:
    """The mailbox a mail was sent to (plus-addressing allowed), else the first active mailbox."""
    mailboxes = list(
        ChannelAccount.objects.filter(kind=ChannelAccount.Kind.EMAIL, active=True).order_by("pk")
    )
    for account in mailboxes:
        try:
            config = mailbox_config(account.config)
        except MailboxConfigError:
            continue
        if any(config.is_ours(address) for address in recipients):
            return account
    return mailboxes[0] if mailboxes else None


@receiver(inbound, dispatch_uid="sportello-email-anymail-inbound")
def anymail_inbound_received(
    sender: object, event: AnymailInboundEvent, esp_name: str, **kwargs: Any
) -> None:
    """Store the mail before the webhook answers: an exception here makes the ESP deliver it again."""
    message = event.message
    if message is None:
        logger.warning("%s inbound event without a message: nothing to store", esp_name)
        return
    recipients = [str(message.envelope_recipient or "")]
    recipients += [address.addr_spec for address in [*message.to, *message.cc]]
    account = mailbox_for([item for item in recipients if item])
    if account is None:
        logger.error("%s inbound mail arrived but no email mailbox is configured", esp_name)
        return
    mail_record(
        account=account, raw=message.as_bytes(), headers={"x-esp": esp_name}, source=f"anymail:{esp_name}"
    )

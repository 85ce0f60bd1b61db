"""Beat and worker entry points of the email channel: thin, id-taking, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from channels_in.email.imap import mailbox_poll
from channels_in.models import ChannelAccount


@shared_task
def poll_mailboxes() -> int:
    """Queue one poll per active mailbox that reads mail over IMAP."""
    ids = [
        account_id
        for account_id, config in ChannelAccount.objects.filter(
            kind=ChannelAccount.Kind.EMAIL, active=True
        ).values_list("pk", "config")
        if isinstance(config, dict) and config.get("imap")
    ]
    for account_id in ids:
        poll_mailbox.delay(account_id)
    return len(ids)


@shared_task(acks_late=True)
def poll_mailbox(account_id: int) -> dict[str, object]:
    return mailbox_poll(account_id=account_id).as_dict()

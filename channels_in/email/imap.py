"""Polling a mailbox over IMAP: every new mail recorded exactly once, then flagged or moved.

The cursor (UIDVALIDITY + last UID, ``MailboxCursor``) makes a re-poll harmless: a mail is fetched
again only if the poller died between recording it and advancing the cursor, and then the
recording finds the first copy. A mail is flagged \\Seen (or moved to the processed folder) only
after its InboundEvent is committed. Connection errors back off exponentially and show on the
mailbox's health (``ChannelAccount.health["imap"]``).
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from channels_in.email.intake import mail_record, mail_reject
from channels_in.email.schemas import ImapConfig, MailboxConfigError, mailbox_config
from channels_in.models import ChannelAccount, MailboxCursor

logger = logging.getLogger(__name__)

BATCH = 200
LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=1)
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
# A server answering nonsense (ValueError while reading its answer) is its failure, not the poller's.
_FAILURES = (OSError, imaplib.IMAP4.error, ssl.SSLError, ValueError, EOFError)


class MailboxError(Exception):
    pass


@dataclass(frozen=True)
class PollResult:
    status: str  # "ok", "skipped" (busy, backing off, no IMAP configured) or "error"
    recorded: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def imap_connect(config: ImapConfig) -> imaplib.IMAP4:
    context = ssl.create_default_context()
    if config.security == "ssl":
        connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            config.host, config.port, ssl_context=context, timeout=config.timeout
        )
    else:
        connection = imaplib.IMAP4(config.host, config.port, timeout=config.timeout)
        if config.security == "starttls":
            connection.starttls(context)
    connection.login(config.username, config.secret())
    return connection


def _ok(response: tuple[str, Sequence[object]], what: str) -> Sequence[object]:
    status, data = response
    if status != "OK":
        raise MailboxError(f"{what}: {status} {data!r}"[:300])
    return data


def _uidvalidity(connection: imaplib.IMAP4) -> int:
    _, data = connection.response("UIDVALIDITY")
    try:
        return int(data[0])
    except (TypeError, ValueError, IndexError) as exc:
        raise MailboxError("the server reported no UIDVALIDITY") from exc


def _new_uids(connection: imaplib.IMAP4, after: int) -> list[int]:
    data = _ok(connection.uid("SEARCH", f"UID {after + 1}:*"), "UID SEARCH")
    found = data[0].split() if data and isinstance(data[0], bytes) else []
    # "n:*" always matches the newest mail, even when its UID is below n.
    return sorted(uid for uid in (int(item) for item in found) if uid > after)[:BATCH]


def _fetch(connection: imaplib.IMAP4, uid: int, what: str) -> bytes:
    data = _ok(connection.uid("FETCH", str(uid), what), f"UID FETCH {uid}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return bytes(item[1])
    return b""


def _size(connection: imaplib.IMAP4, uid: int) -> int:
    data = _ok(connection.uid("FETCH", str(uid), "(RFC822.SIZE)"), f"UID FETCH {uid} size")
    for item in data:
        text = item[0] if isinstance(item, tuple) else item
        match = _SIZE.search(text) if isinstance(text, bytes) else None
        if match:
            return int(match.group(1))
    return 0


def _mark_done(connection: imaplib.IMAP4, uid: int, config: ImapConfig) -> None:
    if not config.processed_folder:
        _ok(connection.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)"), f"flag {uid}")
        return
    if "MOVE" in connection.capabilities:
        _ok(connection.uid("MOVE", str(uid), config.processed_folder), f"move {uid}")
        return
    _ok(connection.uid("COPY", str(uid), config.processed_folder), f"copy {uid}")
    _ok(connection.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen \Deleted)"), f"delete {uid}")
    if "UIDPLUS" in connection.capabilities:
        _ok(connection.uid("EXPUNGE", str(uid)), f"expunge {uid}")
    else:
        _ok(connection.expunge(), "expunge")


def _lease(cursor: MailboxCursor) -> bool:
    now = timezone.now()
    return bool(
        MailboxCursor.objects.filter(pk=cursor.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )


def _health(account: ChannelAccount) -> dict[str, object]:
    health = account.health if isinstance(account.health, dict) else {}
    imap = health.get("imap")
    return dict(imap) if isinstance(imap, dict) else {}


def _health_save(account: ChannelAccount, imap_health: dict[str, object]) -> None:
    fresh = ChannelAccount.objects.filter(pk=account.pk).values_list("health", flat=True).first() or {}
    ChannelAccount.objects.filter(pk=account.pk).update(health={**fresh, "imap": imap_health})


def _backing_off(account: ChannelAccount, now: datetime) -> bool:
    due = _health(account).get("next_attempt_at")
    if not isinstance(due, str):
        return False
    try:
        return datetime.fromisoformat(due) > now
    except ValueError:
        return False


def _failed(account: ChannelAccount, error: BaseException) -> PollResult:
    now = timezone.now()
    health = _health(account)
    previous_failures = health.get("failures")
    failures = (previous_failures if isinstance(previous_failures, int) else 0) + 1
    interval = timedelta(seconds=settings.EMAIL_POLL_SECONDS)
    delay = min(interval * 2 ** min(failures - 1, 16), MAX_BACKOFF)
    # The message names the failure, never the configuration (which holds the password).
    reason = f"{type(error).__name__}: {error}"[:300]
    logger.warning("mailbox %s: poll failed (%s), next attempt in %s", account.pk, reason, delay)
    _health_save(
        account,
        {
            **health,
            "status": "error",
            "failures": failures,
            "last_error": reason,
            "last_error_at": now.isoformat(),
            "next_attempt_at": (now + delay).isoformat(),
        },
    )
    return PollResult(status="error", error=reason)


def _poll_folder(
    connection: imaplib.IMAP4, account: ChannelAccount, config: ImapConfig, cursor: MailboxCursor
) -> PollResult:
    _ok(connection.select(_quoted(config.folder)), f"SELECT {config.folder}")
    uidvalidity = _uidvalidity(connection)
    if cursor.uidvalidity != uidvalidity:
        if cursor.uidvalidity is not None:
            logger.warning(
                "mailbox %s: UIDVALIDITY of %s changed; reading the folder again (recording dedupes)",
                account.pk,
                config.folder,
            )
        cursor.uidvalidity, cursor.last_uid = uidvalidity, 0
        MailboxCursor.objects.filter(pk=cursor.pk).update(uidvalidity=uidvalidity, last_uid=0)
    recorded = duplicates = rejected = 0
    limit = settings.INBOUND_MAX_BYTES
    for uid in _new_uids(connection, cursor.last_uid):
        size = _size(connection, uid)
        source_headers = {"x-imap-folder": config.folder, "x-imap-uid": str(uid)}
        if size > limit:
            head = _fetch(connection, uid, "(BODY.PEEK[HEADER])")
            mail_reject(
                account=account,
                head=head,
                reason=f"mail is {size} bytes; the limit is {limit}",
                headers=source_headers,
                source="imap",
            )
            rejected += 1
        else:
            raw = _fetch(connection, uid, "(BODY.PEEK[])")
            result = mail_record(account=account, raw=raw, headers=source_headers, source="imap")
            recorded += int(result.created)
            duplicates += int(not result.created)
        # Only now that the event is committed may the server forget the mail is new.
        _mark_done(connection, uid, config)
        MailboxCursor.objects.filter(pk=cursor.pk).update(last_uid=uid, updated_at=timezone.now())
    return PollResult(status="ok", recorded=recorded, duplicates=duplicates, rejected=rejected)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mailbox_poll(*, account_id: int, force: bool = False) -> PollResult:
    """Fetch what is new in one mailbox. Safe to run twice at once: the second finds the lease taken."""
    account = ChannelAccount.objects.filter(
        pk=account_id, kind=ChannelAccount.Kind.EMAIL, active=True
    ).first()
    if account is None:
        return PollResult(status="skipped", error="no such active mailbox")
    try:
        config = mailbox_config(account.config).imap
    except MailboxConfigError as error:
        return _failed(account, error)
    if config is None:
        return PollResult(status="skipped", error="no IMAP configured")
    now = timezone.now()
    if not force and _backing_off(account, now):
        return PollResult(status="skipped", error="backing off after errors")
    cursor, _ = MailboxCursor.objects.get_or_create(channel_account=account, folder=config.folder)
    if not _lease(cursor):
        return PollResult(status="skipped", error="another poll is running")
    try:
        connection = imap_connect(config)
        try:
            result = _poll_folder(connection, account, config, cursor)
        finally:
            _logout(connection)
    except (*_FAILURES, MailboxError) as error:
        return _failed(account, error)
    finally:
        MailboxCursor.objects.filter(pk=cursor.pk).update(lease_until=None)
    _health_save(
        account,
        {"status": "ok", "failures": 0, "last_success_at": timezone.now().isoformat(), "last_error": ""},
    )
    return result


def _logout(connection: imaplib.IMAP4) -> None:
    try:
        connection.logout()
    except (TimeoutError, *_FAILURES):
        pass


def idle_wait(connection: imaplib.IMAP4, timeout: float) -> bool:
    """RFC 2177 IDLE on the selected folder: True as soon as the server announces new mail."""
    if "IDLE" not in connection.capabilities:
        return False
    tag = b"SPIDLE"
    connection.send(tag + b" IDLE\r\n")
    if not connection.readline().startswith(b"+"):
        raise MailboxError("the server refused IDLE")
    sock = connection.socket()
    previous = sock.gettimeout()
    arrived = False
    sock.settimeout(timeout)
    try:
        while True:
            line = connection.readline()
            if not line:
                raise MailboxError("the server closed the connection during IDLE")
            if line.rstrip().endswith((b"EXISTS", b"RECENT")):
                arrived = True
                break
    except TimeoutError:
        pass
    finally:
        sock.settimeout(previous)
    connection.send(b"DONE\r\n")
    while True:
        line = connection.readline()
        if not line or line.startswith(tag):
            break
    return arrived


def mailbox_idle(*, account_id: int, timeout: float = 300.0) -> PollResult:
    """Wait (up to ``timeout``) for the server to announce mail, then poll; without IDLE, just poll."""
    account = ChannelAccount.objects.get(pk=account_id)
    try:
        config = mailbox_config(account.config).imap
    except MailboxConfigError as error:
        return _failed(account, error)
    if config is not None and config.idle and not _backing_off(account, timezone.now()):
        try:
            connection = imap_connect(config)
            try:
                _ok(connection.select(_quoted(config.folder), readonly=True), f"SELECT {config.folder}")
                cursor = MailboxCursor.objects.filter(channel_account=account, folder=config.folder).first()
                after = cursor.last_uid if cursor is not None else 0
                # Mail that arrived since the last poll is not announced again: poll for it at once.
                if not _new_uids(connection, after):
                    idle_wait(connection, timeout)
            finally:
                _logout(connection)
        except (*_FAILURES, MailboxError) as error:
            return _failed(account, error)
    return mailbox_poll(account_id=account_id)

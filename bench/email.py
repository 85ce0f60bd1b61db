"""Email parsing and filing throughput on the real-mail corpus, next to the bare standard library.

The corpus (``channels_in/email/fixtures/corpus`` plus Python's own ``test/test_email/data``) is
repeated to N messages. Three figures, in one process, on the same bytes:

- bare: ``email.message_from_bytes`` alone (the standard library's MIME split, nothing decoded);
- parse: ``email_parse`` (headers, bodies, charsets, sanitized HTML, quotes, attachments, noise);
- ingest: the whole inbound path on PostgreSQL: record the raw InboundEvent, parse, file the mail
  into its contact's ticket (contact, ticket, message, attachments, audit), one commit each.

Bare and parse run in interleaved chunks, so a noisy neighbour slows both alike and the ratio holds.
Goals: parse >= 0.5 x bare; ingest >= 300 mails/s. Results also go to bench/results/email-<time>.json.

    .venv/bin/python bench/email.py                      # 10,000 mails
    .venv/bin/python bench/email.py --messages 2000      # a quick look
"""

from __future__ import annotations

import sys
from pathlib import Path

# Python puts this file's folder first on the path, where this file's name hides the standard
# library's ``email`` package: take the folder off before anything imports it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import argparse  # noqa: E402
import email  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

ROOT = _HERE.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "channels_in" / "email" / "fixtures" / "corpus"
RAW_FOLDERS = ("chatwoot", "talon", "flanker", "mail-parser")
DATABASE = "sportello_bench_email"
PARSE_GOAL = 0.5
INGEST_GOAL = 300.0
_CHUNK = 50


def corpus_messages() -> list[bytes]:
    paths = [
        path
        for folder in RAW_FOLDERS
        for path in sorted((CORPUS / folder).rglob("*"))
        if path.is_file() and not path.name.endswith("_reply_text")
    ]
    try:
        import test

        paths += sorted((Path(test.__file__).parent / "test_email" / "data").glob("msg_*.txt"))
    except ImportError:
        pass
    return [path.read_bytes() for path in paths]


def repeated(messages: list[bytes], count: int) -> list[bytes]:
    return [messages[index % len(messages)] for index in range(count)]


def unique_copy(raw: bytes, index: int) -> bytes:
    """The same mail under a Message-ID of its own, so each copy is filed rather than deduplicated."""
    return f"Message-ID: <bench-{index}@bench.example>\r\n".encode() + raw


def bench_parse(messages: list[bytes]) -> dict[str, float]:
    from channels_in.email.parse import email_parse

    bare_times: list[float] = []
    parse_times: list[float] = []
    for start in range(0, len(messages), _CHUNK):
        chunk = messages[start : start + _CHUNK]
        began = time.perf_counter()
        for raw in chunk:
            email.message_from_bytes(raw)
        bare_times.append(time.perf_counter() - began)
        began = time.perf_counter()
        for raw in chunk:
            email_parse(raw)
        parse_times.append(time.perf_counter() - began)
    bare, parse = sum(bare_times), sum(parse_times)
    # Per-chunk ratios as well: their median shrugs off a chunk a neighbour's burst slowed.
    ratios = [b / p for b, p in zip(bare_times, parse_times, strict=True) if p > 0]
    return {
        "messages": len(messages),
        "bare_mails_per_s": len(messages) / bare,
        "parse_mails_per_s": len(messages) / parse,
        "ratio": bare / parse,
        "ratio_median_chunk": statistics.median(ratios),
    }


def _database_recreate(url_base: str) -> str:
    import psycopg2

    connection = psycopg2.connect(f"{url_base}/postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        connection.close()
    return f"{url_base}/{DATABASE}"


def _ingest_slice(job: tuple[int, str, list[tuple[int, bytes]]]) -> int:
    """One worker's share of the mails, filed along ``path``:

    - "file": parse, then file into the ticket (``ingest_inbound_message``, or the bounce service);
    - "full": the whole inbound path: record the raw InboundEvent (its own commit), then process it
      exactly as the ingest task does (claim, parse, file, mark done).
    """
    from channels_in.base import PayloadError
    from channels_in.email.adapter import inbound_from_parsed
    from channels_in.email.intake import mail_record
    from channels_in.email.parse import email_parse
    from channels_in.email.schemas import mailbox_config
    from channels_in.inbound import inbound_event_process
    from channels_in.models import ChannelAccount
    from tickets.services.bounces import bounce_record
    from tickets.services.ingest import ingest_inbound_message

    account_id, path, mails = job
    account = ChannelAccount.objects.get(pk=account_id)
    config = mailbox_config(account.config)
    for index, raw in mails:
        copy = unique_copy(raw, index)
        if path == "full":
            inbound_event_process(event_id=mail_record(account=account, raw=copy, source="bench").event.pk)
            continue
        try:
            inbound = inbound_from_parsed(email_parse(copy), account_id=account_id, config=config)
        except PayloadError:
            continue  # no sender at all: the full path stores these as failed events
        if inbound is None:
            continue
        if inbound.is_bounce:
            bounce_record(inbound=inbound)
        else:
            ingest_inbound_message(inbound=inbound)
    return len(mails)


def _worker_init() -> None:
    from celery import current_app
    from django.db import connections

    # A forked worker must not share its parent's database socket.
    connections.close_all()
    # Routing, SLA and delivery run on their own workers in production: here they are only queued.
    current_app.conf.task_always_eager = False
    current_app.conf.broker_url = "memory://"


def bench_ingest(messages: list[bytes], workers: int, path: str) -> dict[str, Any]:
    import multiprocessing

    from django.db import connections

    from channels_in.models import ChannelAccount, InboundEvent
    from tickets.models import Attachment, Contact, Message, Team, Ticket

    team, _ = Team.objects.get_or_create(name="Bench")
    account = ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.EMAIL,
        name=f"Bench mailbox ({path})",
        key=f"bench-{path}",
        default_team=team,
        config={"address": "support@bench.example", "plus_addressing": True},
    )
    # Each path gets its own Message-IDs, so the second run files its copies instead of finding the first's.
    offset = 0 if path == "file" else len(messages)
    numbered = [(offset + index, raw) for index, raw in enumerate(messages)]
    jobs = [(account.pk, path, numbered[start::workers]) for start in range(workers)]
    connections.close_all()
    began = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init) as pool:
        done = sum(pool.map(_ingest_slice, jobs))
    elapsed = time.perf_counter() - began
    filed = Message.objects.filter(channel_account=account)
    return {
        "path": path,
        "messages": done,
        "workers": workers,
        "seconds": elapsed,
        "mails_per_s": done / elapsed,
        "events": _state_counts(InboundEvent.objects.filter(channel_account=account)),
        "tickets": Ticket.objects.filter(origin_channel=account).count(),
        "contacts": Contact.objects.count(),
        "messages_filed": filed.count(),
        "attachments": Attachment.objects.filter(message__in=filed).count(),
    }


def _state_counts(events: Any) -> dict[str, int]:
    from django.db.models import Count

    return {row["state"]: row["n"] for row in events.values("state").annotate(n=Count("id"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument(
        "--postgres", default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument(
        "--workers", type=int, default=4, help="ingest processes, as Celery workers would run"
    )
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--paths", default="file,full", help="ingest paths to run: file, full or both")
    args = parser.parse_args()

    media = tempfile.mkdtemp(prefix="sportello-bench-email-")
    os.environ["SPORTELLO_VAR_DIR"] = media
    os.environ["MEDIA_ROOT"] = str(Path(media) / "media")
    os.environ.pop("REDIS_URL", None)
    if not args.skip_ingest:
        os.environ["DATABASE_URL"] = _database_recreate(args.postgres.rstrip("/"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()

    corpus = corpus_messages()
    messages = repeated(corpus, args.messages)
    print(
        f"corpus: {len(corpus)} real mails, {sum(map(len, corpus)) / 1e6:.1f} MB; repeated to {len(messages)}"
    )
    # Figures from a shared machine mean little without its load: it is printed and kept with them.
    results: dict[str, Any] = {"corpus_mails": len(corpus), "load_average_before": os.getloadavg()}
    results["parse"] = bench_parse(messages)
    parse = results["parse"]
    print(
        f"bare email.message_from_bytes: {parse['bare_mails_per_s']:8.0f} mails/s\n"
        f"email_parse:                   {parse['parse_mails_per_s']:8.0f} mails/s"
        f"   ratio {parse['ratio']:.2f} (goal >= {PARSE_GOAL})"
    )
    if not args.skip_ingest:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        for path in [item.strip() for item in args.paths.split(",") if item.strip()]:
            result = results[f"ingest_{path}"] = bench_ingest(messages, args.workers, path)
            label = {"file": "parse + file into ticket", "full": "record + process (whole path)"}[path]
            print(
                f"{label:30} {result['mails_per_s']:8.0f} mails/s on PostgreSQL, {args.workers} workers"
                + (f" (goal >= {INGEST_GOAL:.0f})" if path == "file" else "")
                + f"; {result['tickets']} tickets, {result['messages_filed']} messages,"
                f" {result['attachments']} attachments, events {result['events']}"
            )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    results["load_average_after"] = os.getloadavg()
    path = out / f"email-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
    before, after = results["load_average_before"][0], results["load_average_after"][0]
    print(f"load average before {before:.1f}, after {after:.1f}")
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

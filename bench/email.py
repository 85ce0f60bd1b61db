"""Email parsing and filing throughput on the real-mail corpus, next to the bare standard library.

The corpus (``channels_in/email/fixtures/corpus`` plus Python's own ``test/test_email/data``) is
repeated to N messages, each copy under a Message-ID of its own. On the same bytes:

- bare: ``email.message_from_bytes`` alone (compat32: the standard library's MIME split, nothing
  decoded); with ``policy.default`` it is several times slower, printed for reference only;
- parse: ``email_parse`` (headers, bodies, charsets, sanitized HTML, quotes, attachments, noise);
- ingest, on a scratch PostgreSQL database, the inbound path as a mail server feeds it:
  record (``intake.mail_record``: the raw mail becomes a committed InboundEvent, as the MTA pipe,
  the ESP webhooks and the IMAP poller do), then file (processes draining their slot with
  ``inbound_events_drain`` until nothing is pending, as Celery workers run ``ingest_drain``:
  parse, contact, ticket, message, attachments), then both at once on a second copy.

Bare and parse run in interleaved chunks, so a noisy neighbour slows both alike and the ratio holds.
Goals: parse >= 0.5 x bare; record + file >= 300 mails/s. Results also go to
bench/results/email-<time>.json.

    .venv/bin/python bench/email.py                          # 10,000 mails
    .venv/bin/python bench/email.py --messages 2000          # a quick look
    .venv/bin/python bench/email.py --skip-ingest            # parsing only
    .venv/bin/python bench/email.py --skip-parse --workers 4 # filing only, four draining processes
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


def bare_policy_default(corpus: list[bytes]) -> float:
    """Mails/s of ``message_from_bytes`` with ``policy.default``, the other bare baseline (much slower)."""
    from email import policy

    began = time.perf_counter()
    for raw in corpus:
        email.message_from_bytes(raw, policy=policy.default)
    return len(corpus) / (time.perf_counter() - began)


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


def _worker_init() -> None:
    from celery import current_app
    from django.db import connections

    # A forked worker must not share its parent's database socket.
    connections.close_all()
    # Routing, SLA and delivery run on their own workers in production: here they are only queued.
    current_app.conf.task_always_eager = False
    current_app.conf.broker_url = "memory://"


def _record(account_id: int, mails: list[tuple[int, bytes]]) -> int:
    """What a mail server's delivery does: each raw mail becomes a committed InboundEvent."""
    from channels_in.email.intake import mail_record
    from channels_in.models import ChannelAccount

    account = ChannelAccount.objects.get(pk=account_id)
    for index, raw in mails:
        mail_record(account=account, raw=unique_copy(raw, index), source="bench")
    return len(mails)


def _drain(slot: int, recording: Any) -> int:
    """What an ingest worker does: drain its slot until nothing is pending and nothing is coming."""
    from channels_in.drain import DRAIN_BATCH, inbound_events_drain

    done = 0
    while True:
        filed = inbound_events_drain(slot=slot, limit=DRAIN_BATCH)
        done += filed
        if filed:
            continue
        if recording is None or recording.is_set():
            # One more look: an event may have committed between the empty drain and the flag.
            last = inbound_events_drain(slot=slot, limit=DRAIN_BATCH)
            done += last
            if not last:
                return done
        else:
            time.sleep(0.005)


def _run(job: tuple[Any, tuple[Any, ...]], results: Any) -> None:
    _worker_init()
    began = time.process_time()
    function, arguments = job
    count = function(*arguments)
    results.put((count, time.process_time() - began))


def _processes(jobs: list[tuple[Any, tuple[Any, ...]]]) -> tuple[float, float]:
    """Run each job in a forked process at once: (wall seconds, CPU seconds of all of them)."""
    import multiprocessing

    from django.db import connections

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    connections.close_all()
    began = time.perf_counter()
    processes = [context.Process(target=_run, args=(job, results)) for job in jobs]
    for process in processes:
        process.start()
    outcomes = [results.get() for _ in processes]
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
        if process.exitcode:
            raise RuntimeError(f"a bench process failed with exit code {process.exitcode}")
    return elapsed, sum(cpu for _count, cpu in outcomes)


def _account(name: str) -> Any:
    from channels_in.models import ChannelAccount
    from tickets.models import Team

    team, _ = Team.objects.get_or_create(name="Bench")
    return ChannelAccount.objects.create(
        kind=ChannelAccount.Kind.EMAIL,
        name=f"Bench mailbox ({name})",
        key=f"bench-{name}",
        default_team=team,
        config={"address": "support@bench.example", "plus_addressing": True},
    )


def _figure(count: int, seconds: float, cpu: float) -> dict[str, float]:
    return {"seconds": seconds, "mails_per_s": count / seconds, "worker_cpu_ms_per_mail": cpu / count * 1e3}


def bench_ingest(messages: list[bytes], recorders: int, drainers: int) -> dict[str, Any]:
    """The inbound path as a mail server feeds it, on PostgreSQL, in three runs.

    - record: ``recorders`` processes store the raw mails as InboundEvents (``mail_record``, the door
      every mail path uses), as web processes and pollers do;
    - file: then ``drainers`` processes, as Celery workers running ``ingest_drain``, each drain a slot
      with ``inbound_events_drain`` until nothing is pending;
    - together: a second copy of the mails, recorded and drained at the same time, until all is filed.
    """
    from django.conf import settings

    numbered = list(enumerate(messages))
    # Each run files its own Message-IDs, so the second does not find the first's events.
    account = _account("record-then-file")
    record_jobs = [(_record, (account.pk, numbered[start::recorders])) for start in range(recorders)]
    drain_jobs = [(_drain, (slot % settings.INGEST_DRAIN_SLOTS, None)) for slot in range(drainers)]
    record_seconds, record_cpu = _processes(record_jobs)
    file_seconds, file_cpu = _processes(drain_jobs)
    results = {
        "recorders": recorders,
        "drainers": drainers,
        "record": _figure(len(messages), record_seconds, record_cpu),
        "file": _figure(len(messages), file_seconds, file_cpu),
        "record_then_file": {
            **_counts(account),
            "mails_per_s": len(messages) / (record_seconds + file_seconds),
        },
    }
    import multiprocessing

    recording = multiprocessing.get_context("fork").Event()
    account = _account("together")
    shifted = [(len(messages) + index, raw) for index, raw in numbered]
    record_jobs = [(_record, (account.pk, shifted[start::recorders])) for start in range(recorders)]
    drain_jobs = [(_drain, (slot % settings.INGEST_DRAIN_SLOTS, recording)) for slot in range(drainers)]
    together = _together(record_jobs, drain_jobs, recording)
    results["together"] = {**_figure(len(messages), *together), **_counts(account)}
    return results


def _together(record_jobs: list[Any], drain_jobs: list[Any], recording: Any) -> tuple[float, float]:
    import threading

    # The drainers start with the recorders and stop once the recorders are done and nothing is left.
    outcome: dict[str, tuple[float, float]] = {}
    drainers = threading.Thread(target=lambda: outcome.setdefault("drain", _processes(drain_jobs)))
    began = time.perf_counter()
    drainers.start()
    _record_seconds, record_cpu = _processes(record_jobs)
    recording.set()
    drainers.join()
    return time.perf_counter() - began, record_cpu + outcome["drain"][1]


def _counts(account: Any) -> dict[str, Any]:
    from channels_in.models import InboundEvent
    from tickets.models import Attachment, Message, Ticket

    filed = Message.objects.filter(channel_account=account)
    return {
        "events": _state_counts(InboundEvent.objects.filter(channel_account=account)),
        "tickets": Ticket.objects.filter(origin_channel=account).count(),
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
        "--workers", type=int, default=2, help="drain processes, as Celery workers run ingest_drain"
    )
    parser.add_argument(
        "--recorders", type=int, default=2, help="recording processes, as web processes and pollers"
    )
    parser.add_argument("--skip-parse", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
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
    if not args.skip_parse:
        parse = results["parse"] = bench_parse(messages)
        results["parse_reference_policy_default"] = bare_policy_default(corpus)
        print(
            f"bare email.message_from_bytes: {parse['bare_mails_per_s']:8.0f} mails/s\n"
            f"email_parse:                   {parse['parse_mails_per_s']:8.0f} mails/s"
            f"   ratio {parse['ratio']:.2f}, median of chunks {parse['ratio_median_chunk']:.2f}"
            f" (goal >= {PARSE_GOAL})\n"
            f"  for reference, message_from_bytes with policy.default (one corpus pass):"
            f" {results['parse_reference_policy_default']:.0f} mails/s"
        )
    if not args.skip_ingest:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        ingest = results["ingest"] = bench_ingest(messages, args.recorders, args.workers)
        processes = f"{args.recorders} recording and {args.workers} draining processes"
        for key, label in (
            ("record", "record"),
            ("file", "file (drain)"),
            ("together", "record + file at once"),
        ):
            figure = ingest[key]
            print(
                f"{label:22} {figure['mails_per_s']:8.0f} mails/s, "
                f"{figure['worker_cpu_ms_per_mail']:.1f} ms of worker CPU per mail"
                + (f" (goal >= {INGEST_GOAL:.0f})" if key == "together" else "")
            )
        sequential = ingest["record_then_file"]
        print(
            f"record, then file:     {sequential['mails_per_s']:8.0f} mails/s; on PostgreSQL, {processes};"
            f" {sequential['tickets']} tickets, {sequential['messages_filed']} messages,"
            f" {sequential['attachments']} attachments, events {sequential['events']}"
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

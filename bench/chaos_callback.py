"""An API channel's callback for bench/chaos: an integrator that fails often and deduplicates by key.

    python -m bench.chaos_callback <port> <journal> <failure rate> <seed>

Every delivery of an agent reply is a POST with an ``Idempotency-Key``. A share ``failure rate`` of
the deliveries is answered 500: half of them before the reply is recorded (the integrator never saw
it), half after (it did, but the sender cannot know and sends it again). A key already recorded is
answered 200 and counted as a duplicate, as a real integrator deduplicates. Every delivery is
appended to the journal, one JSON line each, which a restarted server reads back to keep
deduplicating: the journal is the integrator's database.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_lock = threading.Lock()
_seen: set[str] = set()


def _main() -> None:
    port, journal_path, failure_rate, seed = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    if journal_path.exists():
        for line in journal_path.read_text().splitlines():
            entry = json.loads(line)
            if entry["recorded"]:
                _seen.add(entry["key"])
    journal = journal_path.open("a", buffering=1)
    rng = random.Random(f"{seed}-{len(_seen)}")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = self.headers.get("Idempotency-Key", "")
            try:
                text = str(json.loads(body).get("text", ""))
            except ValueError:
                text = ""
            with _lock:
                roll = rng.random()
                fail_before = roll < failure_rate / 2
                fail_after = not fail_before and roll < failure_rate
                new = not fail_before and key not in _seen
                if new:
                    _seen.add(key)
                status = 500 if fail_before or fail_after else 200
                entry = {"key": key, "text": text, "recorded": not fail_before, "new": new, "status": status}
                journal.write(json.dumps(entry) + "\n")
            payload = b"{}"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    _main()

"""bench/chaos at a small size: nothing lost, nothing doubled while processes die (docs/reliability.md).

The run starts its own PostgreSQL cluster and Redis server, so it needs their binaries; under
``CI=true`` their absence fails the test. ``CHAOS_SEED`` replays a run; otherwise each run draws
its own seed and prints it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.services import service_missing

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.worker
def test_chaos_loses_and_doubles_nothing(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.chaos_servers import missing_binaries

    missing = missing_binaries()
    if missing:
        service_missing(", ".join(missing))
    out = tmp_path / "chaos.json"
    command = [
        sys.executable,
        str(ROOT / "bench" / "chaos.py"),
        "--messages",
        "1000",
        "--customers",
        "100",
        "--replies",
        "100",
        "--faults-each",
        "1",
        "--late-max",
        "3",
        "--sockets",
        "2",
        "--tickets-per-socket",
        "20",
        "--stale-seconds",
        "3",
        # A reply the callback refuses several times in a row waits out its exponential back-off
        # (2, 4, … 128 s); convergence is bounded by that, not by the faults.
        "--time-limit",
        "420",
        "--json-out",
        str(out),
    ]
    if os.environ.get("CHAOS_SEED"):
        command += ["--seed", os.environ["CHAOS_SEED"]]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-6000:]
    result = json.loads(out.read_text())
    faults = {entry["kind"] for entry in result["faults"]}
    assert faults == {"worker", "redis", "postgres", "web", "callback"}
    assert result["inbound"]["delivered"] == 1000
    assert result["outcome"]["lost"] == result["outcome"]["doubled"] == 0
    assert result["outcome"]["events_by_state"] == {"done": 1000}
    assert result["outcome"]["contacts_with_open_tickets"] == 100
    assert result["replies"]["delivered"] == 100
    assert result["replies"]["lost"] == result["replies"]["doubled"] == 0
    assert result["catch_up"] == {"tickets": 100, "missing": 0, "doubled": 0, "out_of_order": 0}

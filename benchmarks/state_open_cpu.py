"""CPU of the state file's fixed bookkeeping in one ``crmseg sync``, without the CRM.

What every run pays on a small state file before and after its real work: open it
for writing (schema, version), bind it to the account, close abandoned runs, start
the run, begin and commit an incremental pull of contacts and of deals, finish the
run, close (DuckDB checkpoints the write-ahead log). Timed with ``time.thread_time``
of this thread only, so other processes on a loaded machine count less than in a
whole sync; the median of ``--rounds`` rounds is printed as JSON (milliseconds), per
step and in total.

Run it from another checkout's root with ``PYTHONPATH`` set to compare versions:

    python benchmarks/state_open_cpu.py --rounds 30
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

from connectors.base import Cursor
from sync.state import State

T = datetime(2026, 6, 1, tzinfo=UTC)


def _prepare(path: Path) -> None:
    """A state file after a first sync of 200 contacts (mirror rows, pulls, a run)."""
    with State(path) as state:
        state.bind_account("hubspot portal 1", "hubspot:https://api.test")
        state.con.execute(
            "INSERT INTO mirror_contacts (id, email) "
            "SELECT i::VARCHAR, 'c' || i || '@mail.test' FROM range(200) t(i)"
        )
        for object_type in ("contact", "deal"):
            state.begin_pull(full=True)
            state.commit_pull(object_type, ["email"], Cursor(T, "1"), full=True, started_at=T)
        run = state.start_run("sync", date(2026, 6, 30), dry_run=False)
        state.finish_run(run, "ok", {"written": 0})


def one_round(path: Path) -> dict[str, float]:
    steps: dict[str, float] = {}
    clock = time.thread_time

    start = clock()
    state = State(path)
    steps["open"] = clock() - start
    mark = clock()
    state.bind_account("hubspot portal 1", "hubspot:https://api.test")
    state.close_abandoned_runs()
    run = state.start_run("sync", date(2026, 6, 30), dry_run=False)
    steps["bind and start"] = clock() - mark
    mark = clock()
    for object_type in ("contact", "deal"):
        state.pull_state(object_type)
        state.begin_pull(full=False)
        state.commit_pull(object_type, ["email"], None, full=False, started_at=T)
    steps["two pulls' bookkeeping"] = clock() - mark
    mark = clock()
    state.finish_run(run, "ok", {"written": 0})
    steps["finish"] = clock() - mark
    mark = clock()
    state.close()
    steps["close"] = clock() - mark
    steps["total"] = clock() - start
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.duckdb"
        _prepare(path)
        one_round(path)  # uncounted: the first round pays lazy set-up
        rounds: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.rounds):
            for name, seconds in one_round(path).items():
                rounds[name].append(seconds)
    report = {name: round(statistics.median(v) * 1000, 2) for name, v in rounds.items()}
    print(json.dumps({"rounds": args.rounds, "ms_median": report}))


if __name__ == "__main__":
    main()

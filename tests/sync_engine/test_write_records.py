"""How the engine stores the outcome of concurrent batches: batches that came back
while earlier ones were being stored are stored together, so the state file's
statements do not bound the write rate."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import connectors.base
from sync.config import Config
from sync.engine import Engine, RunOptions
from sync.state import State
from tests.sync_engine.fake_crm import FakeCrm


def test_batches_finished_while_one_was_stored_are_stored_with_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crm = FakeCrm()
    crm.concurrency = 4
    for i in range(1, 13):  # 12 contacts: 4 batches of 3
        crm.add_contact(str(i), email=f"u{i}@example.com", first_name="A", country="DE")
    state = State(Path(":memory:"))
    calls: list[int] = []
    storing = threading.Event()
    record = state.record_written
    write = crm.write_batch
    sent: list[int] = []

    def later_after_the_first(updates: Any) -> Any:
        with lock:
            sent.append(len(sent))
            first = len(sent) == 1
        if not first:
            storing.wait(10)  # come back while the first batch is being stored
        return write(updates)

    lock = threading.Lock()
    crm.write_batch = later_after_the_first  # type: ignore[method-assign]
    back = threading.Semaphore(0)  # released once per batch whose answer is in

    class Pool(ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            future = super().submit(fn, *args, **kwargs)
            future.add_done_callback(lambda _done: back.release())
            return future

    monkeypatch.setattr(connectors.base, "ThreadPoolExecutor", Pool)

    def slow_first(run_id: int, object_type: Any, changes: Any, **kw: Any) -> None:
        rows = list(changes)
        calls.append(len({r[0] for r in rows}))
        if len(calls) == 1:
            storing.set()
            # meanwhile the three other batches come back (the first one is back)
            for _ in range(4):
                assert back.acquire(timeout=10), "the other batches never came back"
        record(run_id, object_type, rows, **kw)

    state.record_written = slow_first  # type: ignore[method-assign]
    result = Engine(crm, state, Config()).run(RunOptions("sync", date(2026, 6, 30)))
    assert result.status == "ok"
    assert result.summary["written"] == 12
    assert sum(calls) == 12  # every written contact recorded once
    assert calls[0] == 3 and calls[1:] == [9]  # one batch, then the three that waited
    written = state.con.execute("SELECT count(DISTINCT record_id) FROM audit").fetchone()
    assert written == (12,)

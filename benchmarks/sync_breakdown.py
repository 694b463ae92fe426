"""Where the wall time of one HubSpot sync goes: a timeline of its steps.

Why: a first sync through exports and imports spends most of its wall time waiting
for HubSpot's processing; what is left is crmseg's share, and only a breakdown says
which step holds it and whether it runs alongside the waits or after them.

Two sources, both stamped with ``time.time()`` so they line up:

* **crmseg's steps** (:class:`Spans`): the engine's progress phases (``Pulling
  contacts``, ``Computing segments``, ...) and the steps under them, timed by wrapping
  the functions that do them for the run (the count search, the property read, the
  export wait, the file's preparation, the load into the mirror, the plan, the import
  files and their upload, the import wait, the errors read, the recording of the
  outcome, the lists, the run's own state writes). A span's thread is kept: the pulls
  of contacts and deals run at once.
* **the sandbox's request log** (:func:`requests_by_endpoint`): per endpoint the calls,
  the first arrival and the last answer.

:func:`timeline` turns both into rows of (start, end, seconds, calls) relative to the
start of ``Engine.run``; :func:`render` prints them.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Spans", "render", "requests_by_endpoint", "timeline"]


class Spans:
    """Named intervals of one run (thread-safe), and the wrappers that record them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[tuple[str, float, float, str]] = []
        self._undo: list[Callable[[], None]] = []

    def add(self, name: str, start: float, end: float) -> None:
        with self._lock:
            self.items.append((name, start, end, threading.current_thread().name))

    @contextmanager
    def span(self, name: str) -> Iterator[None]:
        start = time.time()
        try:
            yield
        finally:
            self.add(name, start, time.time())

    def wrap(
        self, owner: Any, attr: str, label: str | Callable[..., str], *, generator: bool = False
    ) -> None:
        """Time every call of ``owner.attr`` (a class or module attribute) as ``label``
        (or ``label(*args)``); with ``generator`` the span lasts until the generator it
        returns is exhausted or closed."""
        original = getattr(owner, attr)
        raw = vars(owner).get(attr)
        spans = self

        def name_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
            return label(*args, **kwargs) if callable(label) else label

        if generator:

            @functools.wraps(original)
            def timed_gen(*args: Any, **kwargs: Any) -> Any:
                start = time.time()
                try:
                    yield from original(*args, **kwargs)
                finally:
                    spans.add(name_of(args, kwargs), start, time.time())

            setattr(owner, attr, timed_gen)
        else:

            @functools.wraps(original)
            def timed(*args: Any, **kwargs: Any) -> Any:
                start = time.time()
                try:
                    return original(*args, **kwargs)
                finally:
                    spans.add(name_of(args, kwargs), start, time.time())

            setattr(owner, attr, timed)

        def undo() -> None:
            if raw is None:
                delattr(owner, attr)
            else:
                setattr(owner, attr, raw)

        self._undo.append(undo)

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    # -- the engine's progress phases ---------------------------------------------------
    @contextmanager
    def phase(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        """A :class:`sync.run_types.Reporter`: each progress phase becomes a span."""
        with self.span(f"phase: {description}"):
            yield lambda n: None


def _typed(step: str) -> Callable[..., str]:
    """A label naming the object type, the first argument after ``self``."""

    def label(_self: Any, object_type: Any = "?", *_a: Any, **_k: Any) -> str:
        return f"{step} ({object_type})"

    return label


def instrument(spans: Spans) -> None:
    """Wrap the steps of a HubSpot sync (until ``spans.restore()``)."""
    from connectors.hubspot import export_rows, exports, imports
    from sync import engine, segment_lists, state, writeback

    ex = exports.Exporter
    spans.wrap(ex, "count", _typed("pull: count search"))
    spans.wrap(ex, "_existing", _typed("pull: properties read"))
    spans.wrap(ex, "_start", _typed("pull: export start"))
    spans.wrap(ex, "_result_url", _task("pull: export wait (status polls)"))
    spans.wrap(ex, "_download", _task("pull: export wait + download"))
    spans.wrap(exports, "csv_files", "pull: unzip")
    spans.wrap(export_rows.ExportColumns, "prepare", _cls_typed("pull: read file into columns"))
    st = state.State
    spans.wrap(st, "apply_columns", _typed("pull: load into mirror"))
    spans.wrap(st, "apply", _typed("pull: store pages"))
    spans.wrap(st, "sweep", _typed("pull: sweep"))
    spans.wrap(st, "commit_pull", _typed("pull: commit"))
    spans.wrap(engine, "build_plan", "plan")
    spans.wrap(engine.Engine, "guard", "plan: mass-change guard")
    im = imports.Importer
    spans.wrap(im, "settle", "import: settle earlier imports")
    spans.wrap(imports, "write_files", "import: build files")
    spans.wrap(im, "_start", "import: find twin + upload")
    spans.wrap(im, "_wait", "import: wait (status polls)")
    spans.wrap(im, "_results", "import: errors read")
    spans.wrap(writeback.Writeback, "_record_results", "write: record outcome")
    spans.wrap(segment_lists.ListKeeper, "keep", "lists")
    spans.wrap(st, "record_sizes", "state: record sizes")
    spans.wrap(st, "finish_run", "state: finish run")


def _task(step: str) -> Callable[..., str]:
    """A label naming the export task (the first argument after ``self``)."""

    def label(_self: Any, task: Any = "?", *_a: Any, **_k: Any) -> str:
        return f"{step}, task {task}"

    return label


def _cls_typed(step: str) -> Callable[..., str]:
    def label(object_type: Any = "?", *_a: Any, **_k: Any) -> str:
        return f"{step} ({object_type})"

    return label


def requests_by_endpoint(entries: list[Any]) -> dict[str, tuple[float, float, int, float]]:
    """Endpoint -> (first arrival, last answer, calls, summed request seconds)."""
    out: dict[str, tuple[float, float, int, float]] = {}
    for e in entries:
        end = e.at + e.duration
        first, last, n, busy = out.get(e.endpoint, (e.at, end, 0, 0.0))
        out[e.endpoint] = (min(first, e.at), max(last, end), n + 1, busy + e.duration)
    return out


def timeline(spans: Spans, entries: list[Any], run_started: float) -> list[dict[str, Any]]:
    """Rows (sorted by start) of crmseg's steps, merged per name, and of the sandbox's
    endpoints: offsets from the run's start, the wall seconds from first start to last
    end, and the summed seconds of the intervals (several threads or calls)."""
    merged: dict[str, list[float]] = {}
    threads: dict[str, set[str]] = {}
    for name, start, end, thread in spans.items:
        m = merged.setdefault(name, [start, end, 0.0, 0.0])
        m[0], m[1] = min(m[0], start), max(m[1], end)
        m[2] += end - start
        m[3] += 1
        threads.setdefault(name, set()).add(thread)
    rows = [
        {
            "step": name,
            "source": "crmseg",
            "start": round(s - run_started, 2),
            "end": round(e - run_started, 2),
            "wall": round(e - s, 2),
            "summed": round(busy, 2),
            "calls": int(n),
            "threads": len(threads[name]),
        }
        for name, (s, e, busy, n) in merged.items()
    ]
    for endpoint, (s, e, n, busy) in requests_by_endpoint(entries).items():
        rows.append(
            {
                "step": f"requests: {endpoint}",
                "source": "sandbox",
                "start": round(s - run_started, 2),
                "end": round(e - run_started, 2),
                "wall": round(e - s, 2),
                "summed": round(busy, 2),
                "calls": n,
                "threads": 0,
            }
        )
    rows.sort(key=lambda r: (r["start"], r["end"]))
    return rows


def render(rows: list[dict[str, Any]], title: str = "") -> str:
    """The timeline as a fixed-width table."""
    head = f"{'step':<52} {'start':>8} {'end':>8} {'wall':>8} {'summed':>8} {'calls':>6}"
    lines = [title, head, "-" * len(head)] if title else [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['step'][:52]:<52} {r['start']:>8.1f} {r['end']:>8.1f} {r['wall']:>8.1f} "
            f"{r['summed']:>8.1f} {r['calls']:>6}"
        )
    return "\n".join(lines)

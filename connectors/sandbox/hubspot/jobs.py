"""Timing and limits shared by the stand-in's asynchronous exports and imports (FACTS.md,
"Exports and imports").

Why one module: both APIs queue work that HubSpot processes in the background
for a time that grows with the number of rows, and both have rolling 24-hour
caps. HubSpot publishes no processing speed, so the speed is a knob whose
default is deliberately slow (see :class:`BulkConfig`); benchmarks state the
value they ran with.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

DAY_SECONDS = 24 * 3600.0


@dataclass
class BulkConfig:
    """Processing speed and limits of exports and imports; may be changed while serving.

    Speeds are rows per second after a fixed queueing delay. The defaults are
    assumptions on the slow side (no published figure): an export of 1M
    contacts takes 10 s + 100 s, an import of 1M rows 10 s + 500 s.
    """

    export_delay_seconds: float = 10.0
    export_rows_per_second: float = 10_000.0
    import_delay_seconds: float = 10.0
    import_rows_per_second: float = 2_000.0
    #: Exports: 30 completed in a rolling 24 h, one processed at a time (others queue).
    exports_per_day: int = 30
    #: Rows per CSV file in an export; more rows arrive as several files in one zip.
    export_rows_per_file: int = 1_000_000
    #: A single CSV larger than this is zipped as well.
    export_zip_above_bytes: int = 2_000_000
    #: Seconds a download URL stays valid after the status answer that returned it.
    export_url_seconds: float = 300.0
    #: Associated ids per row and object type unless the request overrides it.
    export_associations_per_row: int = 1_000
    #: Imports, per rolling 24 h: 500 imports, 80M rows through the API.
    imports_per_day: int = 500
    import_rows_per_day: int = 80_000_000
    #: Imports processing at once; another start is refused while this many run.
    imports_concurrent: int = 3
    #: Imports processing at once share one throughput (``import_rows_per_second`` in
    #: all): a new import's rows are processed after those already queued. HubSpot
    #: does not say whether they share it, so sharing (the slower case) is the default;
    #: ``False`` times each import on its own.
    imports_share_throughput: bool = True
    #: Per file: 1,048,576 rows and 512 MB.
    import_rows_per_file: int = 1_048_576
    import_bytes_per_file: int = 512 * 1024 * 1024
    #: The clock exports and imports are timed by (processing, download URLs, the 24 h
    #: caps); a test sets a fake one and moves it on instead of waiting.
    clock: Callable[[], float] = time.monotonic

    def export_seconds(self, rows: int) -> float:
        return self.export_delay_seconds + rows / max(self.export_rows_per_second, 1e-9)

    def import_seconds(self, rows: int) -> float:
        return self.import_delay_seconds + rows / max(self.import_rows_per_second, 1e-9)

    def instant(self) -> BulkConfig:
        """Tests: no delay, unlimited speed -- a job is done the moment it starts, on a
        fake clock too (a clock that has not moved still finds it done)."""
        self.export_delay_seconds = self.import_delay_seconds = 0.0
        self.export_rows_per_second = self.import_rows_per_second = math.inf
        return self


@dataclass
class Rolling24h:
    """Amounts counted in a rolling 24-hour window (monotonic clock)."""

    span: float = DAY_SECONDS
    entries: deque[tuple[float, int]] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def total(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        with self.lock:
            while self.entries and self.entries[0][0] <= now - self.span:
                self.entries.popleft()
            return sum(n for _, n in self.entries)

    def add(self, amount: int = 1, now: float | None = None) -> None:
        with self.lock:
            self.entries.append((time.monotonic() if now is None else now, amount))

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()

"""SIGTERM and SIGINT end a run cleanly.

systemd, Kubernetes and cron timeouts send SIGTERM; Ctrl-C sends SIGINT. Both
raise :class:`Interrupted` in the main thread, which the engine records as an
``interrupted`` run (the batches already in flight finish and are recorded),
and the command exits 128 + the signal number (130 for SIGINT, 143 for
SIGTERM), as shells do. A second signal while stopping is ignored, so the
bookkeeping is not cut short.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Interrupted(KeyboardInterrupt):
    """The run was asked to stop by a signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into :class:`Interrupted` while the block runs (main
    thread only: elsewhere signals cannot be handled, and the block runs as is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise Interrupted(signum)

    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[int(signum)] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)

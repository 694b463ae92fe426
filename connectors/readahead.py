"""Read pages on a thread of its own while the caller does something else.

Why: a pull that is one page after another is latency-bound. The engine reads every
object type at once (``sync.prefetch``: one reader per type), and a full Salesforce
deal pull reads the opportunities while it reads their contact roles, which it needs
complete before it can build the first deal. Every request still passes the
connector's own limits (HubSpot's rate limiter, the Salesforce puller's slots within
``[crm] concurrency``); the reader only keeps ``ahead`` pages waiting.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["ReadAhead"]

_DONE = object()


class ReadAhead:
    """Iterate ``pages`` on a daemon thread from construction on; yield them in order.

    An error of the reading thread is raised to the consumer in the page's place, and
    :meth:`raise_if_failed` lets the caller stop its own reading as soon as it happens.
    :meth:`close` stops the thread (after its current request) and drops what it read.
    """

    def __init__(self, pages: Iterator[Any], *, ahead: int = 4, name: str = "crmseg-read") -> None:
        self._pages = pages
        #: The pages read and not yet consumed (at most ``ahead``).
        self.queue: queue.Queue[Any] = queue.Queue(max(1, ahead))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for page in self._pages:
                if not self._put(page):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._error = exc
            self._put(exc)
            return
        finally:
            close = getattr(self._pages, "close", None)
            if callable(close):
                close()
        self._put(_DONE)

    def raise_if_failed(self) -> None:
        """Raise the reading thread's error now, if it has one."""
        if self._error is not None:
            raise self._error

    def __iter__(self) -> Iterator[Any]:
        while True:
            item = self.queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        while True:  # unblock a reader waiting on a full queue
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        self.thread.join(timeout=5)

"""Read ahead of a slow iterator on a background thread.

Why: a pull asks for one page after another (each needs the previous page's
cursor), so while crmseg applies a page to the mirror the connection sits
idle. Fetching the next page meanwhile overlaps network time with local work.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def prefetch(source: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield ``source``'s items in order, fetching up to ``depth`` ahead.

    An exception in ``source`` is raised here, at the item where it happened.
    Leaving the loop early stops the reader after the item it is fetching.
    """
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in source:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
            return
        put(_DONE)

    reader = threading.Thread(target=read, name="crmseg-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        reader.join(timeout=5)

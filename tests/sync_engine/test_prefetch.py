"""sync.prefetch: order, errors and early exit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from sync.prefetch import prefetch


def test_items_arrive_in_order() -> None:
    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))


def test_the_source_is_read_ahead_while_the_consumer_works() -> None:
    fetched: list[int] = []
    second_fetched = threading.Event()

    def source() -> Iterator[int]:
        for i in range(3):
            fetched.append(i)
            if i == 1:
                second_fetched.set()
            yield i

    it = prefetch(source(), depth=2)
    assert next(it) == 0
    # while the consumer still holds item 0, item 1 is fetched in the background
    assert second_fetched.wait(2)
    assert list(it) == [1, 2]


def test_an_error_is_raised_at_its_place() -> None:
    def source() -> Iterator[int]:
        yield 1
        raise ValueError("page 2 failed")

    it = prefetch(source())
    assert next(it) == 1
    with pytest.raises(ValueError, match="page 2 failed"):
        next(it)


def test_leaving_early_stops_the_reader() -> None:
    produced: list[int] = []

    def source() -> Iterator[int]:
        for i in range(1000):
            produced.append(i)
            yield i

    for item in prefetch(source(), depth=2):
        if item == 3:
            break
    time.sleep(0.3)
    assert len(produced) <= 3 + 1 + 2 + 1

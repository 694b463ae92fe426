"""Creates that survive a lost response: look before retrying, and treat "duplicate" as found.

A create is the one Salesforce write that is not safe to repeat blindly: when its
response is lost (a timeout, a dropped connection, a 5xx after the commit), the
record may exist already, and sending the create again makes a twin -- a second
``crmseg`` Campaign stops every later run ("2 campaigns are named ..."), a second
Tooling field create fails with ``DUPLICATE_DEVELOPER_NAME``.

:func:`create_once` therefore sends each attempt *once* (the session's own retry
loop is bypassed through ``call_once``), and before every further attempt asks
``find`` for the object by its unique name. A ``DUPLICATE_*`` refusal -- the
object was made by the lost attempt or by a concurrent run -- is answered by
``find`` too. Only when ``find`` sees nothing is the create sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from connectors.errors import CrmError, RateLimited, Retriable
from connectors.ratelimit import wait_seconds

__all__ = ["DUPLICATE_CODES", "call_once", "create_once", "create_record_once"]

T = TypeVar("T")

#: Refusals that mean "it exists already" (FACTS.md "Creates under retry").
DUPLICATE_CODES = frozenset({"DUPLICATE_VALUE", "DUPLICATE_DEVELOPER_NAME", "DUPLICATE_NAME"})


def call_once(session: Any, endpoint: str, fn: Callable[..., T], *args: Any) -> T:
    """One attempt of ``fn`` through the session (renewal and error mapping included,
    no retry); sessions without ``call_once`` fall back to ``call``."""
    once = getattr(session, "call_once", None)
    if once is None:
        return session.call(endpoint, fn, *args)  # type: ignore[no-any-return]
    return once(endpoint, fn, *args)  # type: ignore[no-any-return]


def create_once(
    session: Any,
    endpoint: str,
    create: Callable[..., T],
    find: Callable[[], T | None],
    *args: Any,
) -> tuple[T, bool]:
    """``(result, created)``: ``create(sf, *args)`` at most once per attempt, with ``find()``
    consulted before each retry and after a duplicate refusal (``created`` is then False)."""
    settings = getattr(session, "settings", None)
    attempts = max(1, int(getattr(settings, "attempts", 3) or 3))
    max_wait = float(getattr(settings, "max_wait", 60) or 60)
    sleep: Callable[[float], None] = getattr(session, "sleep", None) or time.sleep
    last: CrmError | None = None
    for attempt in range(1, attempts + 1):
        if last is not None:
            sleep(wait_seconds(attempt - 1, last, max_wait=max_wait, default_wait=_wait_20))
            found = find()
            if found is not None:
                return found, False
        try:
            return call_once(session, endpoint, create, *args), True
        except Retriable as exc:
            last = exc
        except CrmError as exc:
            if exc.code not in DUPLICATE_CODES:
                raise
            found = find()
            if found is None:
                raise
            return found, False
    assert last is not None
    found = find()
    if found is not None:
        return found, False
    raise last


def create_record_once(
    session: Any,
    endpoint: str,
    sobject: str,
    find: Callable[[], str | None],
    body: dict[str, Any],
) -> tuple[str, bool]:
    """``(record id, created)``: one ``sobject`` record made from ``body`` through
    ``POST sobjects/{sobject}/``, under :func:`create_once`'s rules."""
    return create_once(
        session,
        endpoint,
        lambda sf, b: str(sf.restful(f"sobjects/{sobject}/", method="POST", json=b)["id"]),
        find,
        body,
    )


def _wait_20(exc: RateLimited) -> float:
    return 20.0

"""Value formats on the wire: JSON with exact decimals, Salesforce date/datetime strings.

``json.dumps`` cannot write a ``Decimal`` without going through ``float``; money
must keep its digits (a client parsing with ``parse_float=Decimal`` should get
back exactly what was stored), so this module carries its own small encoder.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def format_datetime(value: datetime) -> str:
    """``2013-05-20T20:49:32.000+0000``: milliseconds and an offset without a colon."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def format_datetime_bulk(value: datetime) -> str:
    """Bulk 2.0 CSV writes datetimes as ``2013-05-20T20:49:32.000Z``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def to_wire(value: Any) -> Any:
    """A stored Python value as the REST API shows it (dates as strings, rest unchanged)."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_csv_cell(value: Any) -> str:
    """Bulk 2.0 CSV cell: empty for null, ``true``/``false``, plain decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime_bulk(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


#: What a ``Decimal`` is first written as (a JSON string), before its digits replace it.
_MARK = "\x00decimal:"
_MARKED = re.compile(r'"\\u0000decimal:(-?[0-9]+(?:\.[0-9]+)?)"')


def dumps(value: Any) -> str:
    """JSON text; ``Decimal`` written with its exact digits as a JSON number.

    The text is :func:`dumps_exact`'s, made by one C-encoder pass instead of one
    ``json.dumps`` per value (which cost the stand-in more CPU per describe or query
    answer than anything else): each ``Decimal`` is encoded as a marked string, then
    every marked string is replaced by the digits. A string in the data that looks
    like a marked one shows up as one replacement too many; then, and for a value
    the pass cannot take, the answer is :func:`dumps_exact`'s. Object keys are the
    strings (or numbers) the handlers build, which both spell alike."""
    decimals = 0

    def default(obj: Any) -> Any:
        nonlocal decimals
        if isinstance(obj, Decimal):
            if not obj.is_finite():
                raise ValueError("non-finite Decimal cannot be sent as JSON")
            decimals += 1
            return _MARK + format(obj, "f")
        if isinstance(obj, datetime | date):
            return to_wire(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON serializable")

    try:
        text = json.dumps(value, separators=(",", ":"), default=default, check_circular=False)
    except (TypeError, RecursionError):
        return dumps_exact(value)
    if not decimals:
        return text
    text, replaced = _MARKED.subn(r"\1", text)
    return text if replaced == decimals else dumps_exact(value)


def dumps_exact(value: Any) -> str:
    """JSON text, one value at a time: the reference :func:`dumps` answers like."""
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{json.dumps(str(k))}:{dumps_exact(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps_exact(v) for v in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite Decimal cannot be sent as JSON")
        text = format(value, "f")
        return text
    if isinstance(value, datetime | date):
        return json.dumps(to_wire(value))
    return json.dumps(value)

"""Value formats on the wire: JSON with exact decimals, Salesforce date/datetime strings.

``json.dumps`` cannot write a ``Decimal`` without going through ``float``; money
must keep its digits (a client parsing with ``parse_float=Decimal`` should get
back exactly what was stored), so this module carries its own small encoder.
"""

from __future__ import annotations

import json
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


def dumps(value: Any) -> str:
    """JSON text; ``Decimal`` written with its exact digits as a JSON number."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite Decimal cannot be sent as JSON")
        text = format(value, "f")
        return text
    if isinstance(value, datetime | date):
        return json.dumps(to_wire(value))
    return json.dumps(value)

"""The stand-in's JSON writer: the same text as writing one value at a time."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.salesforce.wire import dumps, dumps_exact
from tests.unicode_text import utf8_text

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    utf8_text(),
    st.sampled_from(["\x00decimal:1.5", 'a"\x00decimal:2', "\x00decimal:x"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(utf8_text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=30, deadline=None)
@given(values)
def test_dumps_writes_what_one_value_at_a_time_writes(value: object) -> None:
    assert dumps(value) == dumps_exact(value)


def test_decimals_keep_their_digits_and_dates_their_salesforce_format() -> None:
    body = {
        "Amount": Decimal("1234.50"),
        "Rate": Decimal("-0.000001"),
        "CloseDate": date(2026, 1, 2),
        "CreatedDate": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        "Name": "\x00decimal:9.99",  # a string that looks like a marked decimal stays one
        "rows": [Decimal("7"), None, True, 1.5],
    }
    text = dumps(body)
    assert text == (
        '{"Amount":1234.50,"Rate":-0.000001,"CloseDate":"2026-01-02",'
        '"CreatedDate":"2026-01-02T03:04:05.678+0000","Name":"\\u0000decimal:9.99",'
        '"rows":[7,null,true,1.5]}'
    )
    assert json.loads(text, parse_float=Decimal)["Amount"] == Decimal("1234.50")

"""docs/SEGMENTS.md "One currency" for CSV exports: the ``currency`` column, ``currency`` and
``currency_rates``; exact ``amount * rate``."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from conftest import contact, days_before, deal
from pydantic import ValidationError

from connectors.errors import InputError
from segmentation import SegmentationConfig


def _deals(*currencies):
    return [
        deal(f"d{i}", "100", days_before(10), "1", currency=c)
        for i, c in enumerate(currencies, start=1)
    ]


def test_several_currencies_without_rates_name_each_and_its_first_line(seg):
    deals = _deals("EUR", "usd", "EUR", "CHF", "USD")
    with pytest.raises(InputError) as err:
        seg([contact("1")], deals)
    message = str(err.value)
    # header = line 1: d1 EUR on line 2, d2 usd on line 3, d4 CHF on line 5
    assert "CHF (first on line 5)" in message
    assert "EUR (first on line 2)" in message
    assert "USD (first on line 3)" in message
    assert "deals.csv" in message and "currency_rates" in message


def test_one_currency_without_rates_uses_the_amounts_as_they_are(seg):
    tags = seg([contact("1")], _deals("EUR", "eur", " Eur "))
    assert tags.metrics["1"] == 300


def test_currency_without_a_rate_is_an_input_error_naming_it(seg):
    deals = _deals("EUR", "EUR", "GBP")
    with pytest.raises(InputError) as err:
        seg([contact("1")], deals, currency_rates={"EUR": "1", "USD": "0.86"})
    assert "GBP (first on line 4)" in str(err.value)
    assert "EUR" not in str(err.value).split("currencies", 1)[1].split("have")[0]


def test_a_lost_or_future_deal_needs_a_rate_too(seg):
    # every row counts, won or not, whatever its date
    deals = [
        deal("d1", "10", days_before(10), "1", currency="EUR"),
        deal("d2", "10", days_before(-30), "1", won=False, currency="JPY"),
    ]
    with pytest.raises(InputError, match=r"JPY \(first on line 3\)"):
        seg([contact("1")], deals)


def test_empty_cell_is_the_configured_currency(seg):
    deals = _deals("", "USD")
    tags = seg([contact("1")], deals, currency="eur", currency_rates={"EUR": "1", "usd": "0.5"})
    assert tags.metrics["1"] == 150


def test_empty_cells_mixed_with_codes_need_the_currency_setting(seg):
    with pytest.raises(InputError) as err:
        seg([contact("1")], _deals("EUR", ""))
    assert "(empty cell) (first on line 3)" in str(err.value)
    assert "[segmentation] currency" in str(err.value)


def test_only_empty_cells_are_one_currency(seg):
    assert seg([contact("1")], _deals("", "")).metrics["1"] == 200


def test_rates_without_a_currency_column_need_the_currency_setting(seg):
    deals = [deal("d1", "100", days_before(10), "1")]
    with pytest.raises(InputError, match="empty cell"):
        seg([contact("1")], deals, currency_rates={"EUR": "1"})
    tags = seg([contact("1")], deals, currency="CHF", currency_rates={"CHF": "1.07"})
    assert tags.metrics["1"] == Fraction("107")


def test_amount_times_rate_is_exact_with_many_decimals(seg):
    # 0.01 CHF * 1.0734567890123456789 = 0.010734567890123456789 (21 decimals): nothing rounds
    rate = "1.0734567890123456789"
    deals = [
        deal("d1", "0.01", days_before(10), "1", currency="CHF"),
        deal("d2", "100", days_before(10), ["2", "3", "4"], currency="CHF"),
    ]
    tags = seg([contact(c) for c in "1234"], deals, currency_rates={"CHF": rate})
    assert tags.metrics["1"] == Fraction(Decimal("0.01") * Decimal(rate))
    # split three ways, still exact
    assert tags.metrics["2"] == Fraction(100) * Fraction(Decimal(rate)) / 3


def test_converted_equal_revenues_tie(seg):
    # 100 USD at 0.86 equals 86 EUR: one tie group of three, before 0 -> A; the 14 has
    # before 258/272 = 94.9 % -> B
    deals = [
        deal("d1", "100", days_before(10), "1", currency="USD"),
        deal("d2", "86", days_before(10), "2", currency="EUR"),
        deal("d3", "86", days_before(10), "3", currency="EUR"),
        deal("d4", "14", days_before(10), "4", currency="EUR"),
    ]
    tags = seg([contact(c) for c in "1234"], deals, currency_rates={"EUR": "1", "USD": "0.86"})
    assert [tags[c]["abc"] for c in "1234"] == ["A", "A", "A", "B"]
    assert tags["1"]["rfm_m"] == tags["2"]["rfm_m"]


def test_currency_code_must_be_three_letters(seg):
    with pytest.raises(InputError, match="'euro' is not a three-letter"):
        seg([contact("1")], _deals("EUR", "euro"))


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ({"EUR": 0.86}, "decimal string"),
        ({"EUR": "abc"}, "not a decimal number"),
        ({"EUR": "0"}, "positive"),
        ({"EUR": "-1"}, "positive"),
        ({"EUR": "1", "eur": "2"}, "two rates"),
        ({"EURO": "1"}, "not a currency code"),
    ],
)
def test_bad_rates_are_config_errors(rates, message):
    with pytest.raises(ValidationError, match=message):
        SegmentationConfig.model_validate({"currency_rates": rates})

"""The report stays small at any number of contacts, shown without generating a large
export.

The page is rendered from its figures alone (``render`` is a pure function of
them), so its size is bounded when every list in the figures is bounded by a
number that does not grow with the contacts: the detail lists by ``[report]
detail_limit``, the movers by ``MOVERS``, the Pareto curve by its sampling, the
rest by the number of segment values. The two tests below pin both halves: every
list is capped, and a page whose every capped list is full -- what any export
large enough produces -- is under the size limit. How large the page is at 100,000
contacts is a figure of ``benchmarks/report_size.py``, not a test.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from connectors.sandbox.csv_export import write_csv_export
from connectors.sandbox.generator import generate
from connectors.sandbox.vocabulary import EXCHANGE_RATES, HOME_CURRENCY
from sync.config import Config
from sync.report import report_from_export
from sync.report.abc_figures import MOVERS, PARETO_POINTS
from sync.report.render import render

AS_OF = date(2026, 6, 30)
MAX_BYTES = 2 * 1024 * 1024
#: The sampled curve keeps every k-th customer with k = ceil(n / PARETO_POINTS): at most
#: PARETO_POINTS of them, plus the origin and the last customer.
PARETO_MAX = PARETO_POINTS + 2
#: Contacts generated: about 540 customers, more than PARETO_MAX, so a list with one
#: entry per customer or contact could not pass as bounded.
CONTACTS = 1_500


def config(detail_limit: int = 200) -> Config:
    return Config.model_validate(
        {
            "segmentation": {"currency": HOME_CURRENCY, "currency_rates": dict(EXCHANGE_RATES)},
            "report": {"detail_limit": detail_limit},
        }
    )


#: The detail lists' cap in the figures below: small, so that most lists are full.
LIMIT = 3


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("size") / "export"
    write_csv_export(generate(seed=3, contacts=CONTACTS, as_of=AS_OF), folder)
    return report_from_export(folder, config(LIMIT), AS_OF)


def capped_lists(figures: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every capped detail list (``total``, ``shown``, ``rows``) in the figures."""
    if isinstance(figures, dict):
        if {"total", "shown", "rows"} <= set(figures):
            yield where, figures
            return
        for key, value in figures.items():
            yield from capped_lists(value, f"{where}.{key}")
    elif isinstance(figures, list):
        for i, value in enumerate(figures):
            yield from capped_lists(value, f"{where}[{i}]")


def other_lists(figures: Any, where: str = "") -> Iterator[tuple[str, list[Any]]]:
    """Every list outside the capped detail lists."""
    if isinstance(figures, dict):
        if {"total", "shown", "rows"} <= set(figures):
            return
        for key, value in figures.items():
            yield from other_lists(value, f"{where}.{key}")
    elif isinstance(figures, list):
        yield where, figures
        for i, value in enumerate(figures):
            yield from other_lists(value, f"{where}[{i}]")


def test_every_list_the_page_carries_is_capped(figures: dict[str, Any]) -> None:
    assert figures["overview"]["customers"] > PARETO_MAX  # the bound below can fail
    capped = dict(capped_lists(figures))
    assert {".hygiene", ".lifecycle.to_wake", ".abc.migration_members.C>C"} <= set(capped)
    assert any(c["total"] > LIMIT for c in capped.values())
    for where, detail in capped.items():
        assert detail["shown"] == len(detail["rows"]) == min(detail["total"], LIMIT), where
    lengths = dict(other_lists(figures))
    assert len(lengths[".abc.pareto"]) <= PARETO_MAX
    assert len(lengths[".abc.movers_up"]) <= MOVERS and len(lengths[".abc.movers_down"]) <= MOVERS
    for where, values in lengths.items():
        assert len(values) <= PARETO_MAX, where


def test_a_page_with_every_list_full_is_under_the_size_limit(figures: dict[str, Any]) -> None:
    """Every capped list filled to the default ``detail_limit`` rows (its own rows
    repeated), the movers to ``MOVERS`` and the curve to its most points: the largest
    page the default caps allow, whatever the number of contacts."""
    limit = Config().report.detail_limit
    as_computed = len(render(figures).encode("utf-8"))
    figures = copy.deepcopy(figures)
    figures["detail_limit"] = limit
    for _, detail in capped_lists(figures):
        if detail["rows"]:
            detail["rows"] = list(itertools.islice(itertools.cycle(detail["rows"]), limit))
            detail["total"] = max(detail["total"], 10**6)
            detail["shown"] = limit
    abc = figures["abc"]
    for key in ("movers_up", "movers_down"):
        abc[key] = list(itertools.islice(itertools.cycle(abc[key]), MOVERS))
    abc["pareto"] = [[100 * i / PARETO_MAX, 100.0] for i in range(PARETO_MAX)]
    page = render(figures).encode("utf-8")
    assert len(page) > 2 * as_computed  # the filled lists are on the page
    assert len(page) <= MAX_BYTES

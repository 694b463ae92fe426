"""The report's figures against hand-computed expectations on a six-contact export.

As of 2026-06-30 with a 365-day window; purchases (all won):

| contact | previous window (to 2025-06-30) | this window | class before / now |
|---|---|---|---|
| 1 | 1000 on 2025-01-10 | 900 on 2026-03-01 | A / A |
| 2 | 100 on 2024-12-01 | 1000 on 2026-05-01 | B / A |
| 3 | 10 on 2024-09-01 | - | C / C (revenue 0) |
| 4 | - | 50 on 2026-06-01 | none / C |
| 5 | - (prospect) | - | - |
| 6 | 500 on 2025-02-01 | 50 on 2026-01-01 | A / C |

Before: total 1610; 1 passes 0 %, 6 passes 62 % (A), 2 passes 93 % (B), 3 passes
99 % (C). Now: total 2000; 2 passes 0 %, 1 passes 50 % (A); 4 and 6 (50 each)
pass 95 %: C.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from segmentation import SegmentationConfig
from segmentation.inputs import connect
from sync.config import Config, ReportConfig
from sync.report import report_from_export
from sync.report.abc_figures import PARETO_POINTS, pareto
from sync.report.family_figures import family_sizes

AS_OF = date(2026, 6, 30)
CONTACTS = (
    "id,email,first_name,last_name,salutation,country,company_id\n"
    "1,ann@example.com,Ann,Lee,Ms,DE,\n"
    "2,bob@example.com,Bob,Ray,Mr,AT,\n"
    "3,cy@example.com,Cy,Oz,Mr,DE,\n"
    "4,dee@example.com,Dee,Fox,Ms,,\n"
    "5,eve at example.com,Eve,Ng,Ms,FR,\n"
    "6,fay@example.com,Fay,Li,Ms,CH,\n"
)
DEALS = (
    "id,amount,close_date,won,contact_ids,company_ids\n"
    "d1,1000,2025-01-10,true,1,\n"
    "d2,900,2026-03-01,true,1,\n"
    "d3,100,2024-12-01,true,2,\n"
    "d4,1000,2026-05-01,true,2,\n"
    "d5,10,2024-09-01,true,3,\n"
    "d6,50,2026-06-01,true,4,\n"
    "d7,500,2025-02-01,true,6,\n"
    "d8,50,2026-01-01,true,6,\n"
    "d9,7777,2026-02-01,false,5,\n"
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (folder / "deals.csv").write_text(DEALS, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Computed once for the module: the tests below only read them."""
    folder = tmp_path_factory.mktemp("figures") / "export"
    folder.mkdir()
    (folder / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (folder / "deals.csv").write_text(DEALS, encoding="utf-8")
    return report_from_export(folder, Config(), AS_OF)


def test_overview_counts_contacts_customers_and_window_revenue(figures):
    o = figures["overview"]
    assert (o["contacts"], o["customers"], o["revenue"]) == (6, 5, "2000.00")
    assert figures["window"]["previous_end"] == "2025-06-30"


def test_abc_classes_by_customers_and_revenue_share(figures):
    classes = {c["abc"]: c for c in figures["abc"]["classes"]}
    assert (classes["A"]["customers"], classes["A"]["revenue"]) == (2, "1900.00")
    assert (classes["A"]["customer_share"], classes["A"]["revenue_share"]) == (40.0, 95.0)
    assert classes["B"]["customers"] == 0
    assert (classes["C"]["customers"], classes["C"]["revenue"]) == (3, "100.00")


def test_migration_matrix_previous_class_to_current_class(figures):
    m = figures["abc_migration"]
    assert m["A"]["A"] == {
        "contacts": 1,
        "customers": 1,
        "revenue": "900.00",
        "revenue_before": "1000.00",
    }
    assert m["B"]["A"]["contacts"] == 1 and m["B"]["A"]["revenue_before"] == "100.00"
    assert m["A"]["C"] == {
        "contacts": 1,
        "customers": 1,
        "revenue": "50.00",
        "revenue_before": "500.00",
    }
    assert m["C"]["C"]["contacts"] == 1 and m["C"]["C"]["revenue"] == "0.00"
    assert m["none"]["C"]["contacts"] == 1 and m["none"]["C"]["revenue"] == "50.00"
    assert sum(c["contacts"] for row in m.values() for c in row.values()) == 5
    members = figures["abc"]["migration_members"]
    assert [p["id"] for p in members["B>A"]["rows"]] == ["2"]
    assert members["B>A"]["rows"][0] | {} == {
        "id": "2",
        "email": "bob@example.com",
        "name": "Bob Ray",
        "abc_before": "B",
        "abc": "A",
        "lifecycle_before": "at_risk",
        "lifecycle": "reactivated",
        "revenue": "1000.00",
        "revenue_before": "100.00",
        "change": "900.00",
        "last_purchase": "2026-05-01",
    }
    assert "B>B" not in members  # empty cells list nobody


def test_movers_up_and_down(figures):
    assert [(p["id"], p["change"]) for p in figures["abc"]["movers_up"]] == [("2", "900.00")]
    assert [(p["id"], p["change"]) for p in figures["abc"]["movers_down"]] == [("6", "-450.00")]


def test_pareto_curve_is_cumulative_revenue_over_customers(figures):
    assert figures["abc"]["pareto"] == [
        [0.0, 0.0],
        [20.0, 50.0],
        [40.0, 95.0],
        [60.0, 97.5],
        [80.0, 100.0],
        [100.0, 100.0],
    ]


@pytest.mark.parametrize(
    ("customers", "points"),
    [
        (PARETO_POINTS, PARETO_POINTS + 1),  # every customer, plus the origin
        (2 * PARETO_POINTS - 1, PARETO_POINTS + 1),  # every 2nd (199 of them) and the last
        (2 * PARETO_POINTS, PARETO_POINTS + 1),  # every 2nd; the last is the 200th
        (10 * PARETO_POINTS + 3, 184),  # every 11th (182 of them), the last, the origin
    ],
)
def test_pareto_curve_is_sampled_to_at_most_its_points(customers: int, points: int) -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE rep_entities AS SELECT i::VARCHAR AS entity_id, "
        "(1000 - i % 1000)::HUGEINT AS revenue_units, 'A' AS abc FROM range($n) t(i)",
        {"n": customers},
    )
    curve = pareto(con)
    assert len(curve) == points <= PARETO_POINTS + 2
    assert curve[0] == [0.0, 0.0] and curve[-1] == [100.0, 100.0]


def test_lifecycle_flows_since_the_previous_window(figures):
    lc = figures["lifecycle"]
    assert lc["since"] == "2025-06-30" and lc["baseline"] == "previous_window"
    assert lc["flows"] == {
        "active": {"reactivated": 1, "repeat": 1},
        "at_risk": {"reactivated": 1, "inactive": 1},
        "prospect": {"new": 1, "prospect": 1},
    }
    assert [p["id"] for p in lc["became_inactive"]["rows"]] == ["3"]
    assert [p["id"] for p in lc["reactivated"]["rows"]] == ["2"]
    assert [p["id"] for p in lc["to_wake"]["rows"]] == ["3"]


def test_hygiene_work_list_puts_revenue_first(figures):
    h = figures["hygiene"]
    assert h["total"] == 2
    assert [(r["id"], r["issues"]) for r in h["rows"]] == [
        ("4", ["missing_country"]),
        ("5", ["invalid_email"]),
    ]


def test_rfm_grid_has_25_cells_that_add_up_to_the_customers(figures):
    grid = figures["rfm"]["grid"]
    assert len(grid) == 25
    assert sum(c["customers"] for c in grid) == 5
    assert {(c["r"], c["f"]): c["segment"] for c in grid}[(5, 5)] == "champion"


def test_lists_are_capped_and_emails_can_be_left_out(export: Path):
    config = Config(report=ReportConfig(detail_limit=1, include_emails=False))
    f = report_from_export(export, config, AS_OF)
    assert f["hygiene"]["total"] == 2 and f["hygiene"]["shown"] == 1
    assert len(f["hygiene"]["rows"]) == 1
    assert all("email" not in r for r in f["hygiene"]["rows"])
    assert all("email" not in p for p in f["abc"]["migration_members"]["A>A"]["rows"])


def test_small_segments_are_warnings(figures):
    small = {
        (w["family"], w["value"])
        for w in figures["overview"]["warnings"]
        if w["kind"] == "small_segment"
    }
    assert ("abc", "A") in small and ("lifecycle", "prospect") in small


def test_every_extra_tag_column_becomes_a_family():
    """Property and rule families are new columns of seg_tags: they show up as they are."""
    con = connect()
    con.execute(
        "CREATE TEMP TABLE seg_tags AS SELECT * FROM (VALUES "
        "('1', 'A', 'same', 5, 5, 5, '555', 'champion', 'loyal', 'eco;tech', NULL, 'steel', 'gold'),"
        "('2', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'prospect', 'eco', 'missing_name', NULL, NULL)"
        ") t(contact_id, abc, abc_trend, rfm_r, rfm_f, rfm_m, rfm_score, rfm_segment, lifecycle,"
        " interests, data_quality, industry, tier)"
    )
    sizes = {f["family"]: f for f in family_sizes(con, 2)}
    assert list(sizes) == ["interests", "data_quality", "industry", "tier"]
    assert sizes["interests"]["values"] == [
        {"value": "eco", "contacts": 2, "share": 100.0},
        {"value": "tech", "contacts": 1, "share": 50.0},
    ]
    assert sizes["tier"]["values"] == [{"value": "gold", "contacts": 1, "share": 50.0}]
    assert sizes["industry"]["empty"] == 1 and not sizes["industry"]["builtin"]


def test_at_company_level_the_matrix_counts_companies_and_their_contacts(tmp_path: Path):
    folder = tmp_path / "b2b"
    folder.mkdir()
    (folder / "contacts.csv").write_text(
        "id,email,first_name,last_name,salutation,country,company_id\n"
        "1,a@x.test,A,A,Ms,DE,k1\n2,b@x.test,B,B,Mr,DE,k1\n3,c@x.test,C,C,Mr,DE,k2\n",
        encoding="utf-8",
    )
    (folder / "companies.csv").write_text("id,name\nk1,Acme\nk2,Beta\n", encoding="utf-8")
    (folder / "deals.csv").write_text(
        "id,amount,close_date,won,contact_ids,company_ids\n"
        "d1,100,2026-01-01,true,1,k1\nd2,10,2025-01-01,true,3,k2\n",
        encoding="utf-8",
    )
    config = Config(segmentation=SegmentationConfig(level="company"))
    f = report_from_export(folder, config, AS_OF)
    assert f["abc_migration"]["none"]["A"] == {
        "contacts": 2,
        "customers": 1,
        "revenue": "100.00",
        "revenue_before": "0.00",
    }
    assert f["abc"]["migration_members"]["none>A"]["rows"][0]["name"] == "Acme"

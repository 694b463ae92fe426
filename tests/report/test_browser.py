"""The report in a real browser: headless Chromium opens the file as a marketer
would, for the demo data and for a generated export large enough that the page's
lists are capped (the size bound itself is pinned without a browser in
``test_size.py``; the size at 100,000 contacts is ``benchmarks/report_size.py``'s).

Checked: no console error and no network request, every chart drawn, the
migration matrix equal to what ``tags.csv`` of this window and of the previous
one say (revenue recomputed from ``deals.csv``), a click on a cell lists that
cell's contacts, and a table downloads as CSV.

Set ``CRMSEG_REPORT_SCREENSHOTS=docs/report`` to save a screenshot per section.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.sandbox.csv_export import write_csv_export
from connectors.sandbox.generator import generate
from connectors.sandbox.vocabulary import EXCHANGE_RATES, HOME_CURRENCY
from sync.cli import app
from tests.cli.demo_run import demo
from tests.report.cdp import Chromium, find_chromium

AS_OF = date(2026, 6, 30)
PREVIOUS = AS_OF - timedelta(days=365)
SECTIONS = ("overview", "abc", "rfm", "lifecycle", "families", "history")
MAX_BYTES = 2 * 1024 * 1024
#: Contacts of the large export: its biggest migration cell (about 360 contacts)
#: holds more than the 200 the page lists, so the cap is engaged and shown.
LARGE = 2_000


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    binary = find_chromium()
    if binary is None:
        message = (
            "\n\n*** HEADLESS CHROMIUM IS NOT INSTALLED: THE REPORT WAS NOT CHECKED IN A BROWSER. "
            "Install it with `apt-get install -y chromium` (.ci/run does). ***\n"
        )
        print(message)
        pytest.skip(message)
    with Chromium(binary) as browser:
        yield browser


def fx_config(tmp: Path) -> str:
    """The generated deals are in four currencies: report in EUR at the sandbox's rates."""
    path = tmp / "fx.toml"
    rates = ", ".join(f'{code} = "{rate}"' for code, rate in EXCHANGE_RATES.items())
    path.write_text(
        f'[segmentation]\ncurrency = "{HOME_CURRENCY}"\ncurrency_rates = {{ {rates} }}\n',
        encoding="utf-8",
    )
    return str(path)


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


# -- what tags.csv and deals.csv say, computed without the report -------------------------


def classes(tags_csv: Path) -> dict[str, str]:
    with tags_csv.open(encoding="utf-8", newline="") as fh:
        return {r["contact_id"]: r["abc"] for r in csv.DictReader(fh)}


def window_revenue(deals_csv: Path, end: date) -> dict[str, Decimal]:
    """Won deals in (end - 365 days, end], each amount split equally among its contacts."""
    start = end - timedelta(days=365)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    with deals_csv.open(encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["won"].strip().lower() != "true" or not r["close_date"]:
                continue
            if not start < date.fromisoformat(r["close_date"]) <= end:
                continue
            ids = [i for i in r["contact_ids"].split(";") if i.strip()]
            rate = Decimal(EXCHANGE_RATES[r["currency"].strip().upper()])
            for contact in ids:
                revenue[contact.strip()] += Decimal(r["amount"] or 0) * rate / len(ids)
    return revenue


def expected_matrix(export: Path, tmp: Path) -> tuple[dict, dict]:
    now_csv, prev_csv = tmp / "tags_now.csv", tmp / "tags_prev.csv"
    fx = fx_config(tmp)
    run(
        "segment",
        "--input",
        str(export),
        "--out",
        str(now_csv),
        "--as-of",
        AS_OF.isoformat(),
        "-q",
        "-c",
        fx,
    )
    run(
        "segment",
        "--input",
        str(export),
        "--out",
        str(prev_csv),
        "--as-of",
        PREVIOUS.isoformat(),
        "-q",
        "-c",
        fx,
    )
    now, before = classes(now_csv), classes(prev_csv)
    revenue = window_revenue(export / "deals.csv", AS_OF)
    counts: Counter[tuple[str, str]] = Counter()
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    for contact, cls in now.items():
        if not cls:
            continue
        key = (before.get(contact) or "none", cls)
        counts[key] += 1
        sums[key] += revenue.get(contact, Decimal(0))
        members[key].add(contact)
    return {k: (counts[k], sums[k]) for k in counts}, members


# -- the page ------------------------------------------------------------------------------


def wait_for(browser: Chromium, condition: str, timeout: float = 10) -> None:
    """Until the page's JavaScript ``condition`` holds (the page's own handlers run
    between protocol calls, so this waits no longer than they take)."""
    deadline = time.monotonic() + timeout
    while not browser.evaluate(f"!!({condition})"):
        assert time.monotonic() < deadline, f"never true: {condition}"
        time.sleep(0.01)


def check_page(
    browser: Chromium, page: Path, export: Path, tmp: Path, shots: Path | None = None
) -> None:
    browser.open(page)
    assert browser.errors() == []
    assert browser.requests() == [page.resolve().as_uri()]

    charts = browser.evaluate(
        """[...document.querySelectorAll('svg.chart')].map(s => {
             const box = s.getBoundingClientRect();
             const drawn = [...s.querySelectorAll('rect, polyline, circle')]
               .filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length;
             return [s.id, box.width, box.height, drawn]; })"""
    )
    ids = {c[0] for c in charts}
    assert {"c-abc-customers", "c-abc-revenue", "c-pareto", "c-rfm", "c-lifecycle"} <= ids
    assert "c-family-data_quality" in ids
    for chart_id, width, height, drawn in charts:
        assert width > 100 and height > 40 and drawn > 0, chart_id

    expected, members = expected_matrix(export, tmp)
    shown = browser.evaluate(
        """[...document.querySelectorAll('#t-migration tbody tr')].map(tr =>
             [...tr.querySelectorAll('td.cell')].map(td =>
               [Number(td.dataset.v), td.dataset.revenue]))"""
    )
    for i, before in enumerate(("A", "B", "C", "none")):
        for j, now in enumerate(("A", "B", "C")):
            count, revenue = expected.get((before, now), (0, Decimal(0)))
            assert shown[i][j][0] == count, (before, now)
            assert abs(Decimal(shown[i][j][1]) - revenue) <= Decimal("0.01"), (before, now)

    # Click the biggest cell of people who moved up from C.
    target = max(("A", "B"), key=lambda now: expected.get(("C", now), (0,))[0])
    browser.click(f'button.cellbtn[data-cell="C>{target}"]')
    total = expected[("C", target)][0]
    wait_for(
        browser, f"document.getElementById('cell-title').textContent.startsWith('C → {target}')"
    )
    listed = browser.evaluate(
        "[...document.querySelectorAll('#cell-table tbody tr')].map(tr => tr.cells[0].textContent)"
    )
    title = browser.evaluate("document.getElementById('cell-title').textContent")
    assert title.startswith(f"C → {target}: {total:,}")
    assert listed and set(listed) <= members[("C", target)]
    assert len(listed) == min(total, 200)
    assert browser.errors() == []

    if shots is not None:
        browser.evaluate("document.querySelector('header.top').style.position = 'static'")
        for section in SECTIONS:
            browser.screenshot(f"#{section}", shots / f"{section}.png")
        browser.screenshot("header.top", shots / "header.png")


def test_demo_report_in_chromium(chromium: Chromium, tmp_path: Path, tmp_path_factory):
    ran = demo(tmp_path_factory)  # the demo run other tests read, with its report
    assert ran.exit_code == 0, ran.output
    page = ran.report
    shots = os.environ.get("CRMSEG_REPORT_SCREENSHOTS")
    with resources.as_file(resources.files("sync") / "sample") as sample:
        check_page(chromium, page, sample, tmp_path, Path(shots) if shots else None)
    # History from the state file: one line chart per recorded family.
    assert chromium.evaluate("document.querySelectorAll('svg[id^=c-history-]').length") >= 5


def test_a_table_downloads_as_csv(chromium: Chromium, tmp_path: Path):
    page = tmp_path / "r.html"
    with resources.as_file(resources.files("sync") / "sample") as sample:
        # one run: --json prints the figures of the page it writes
        figures = json.loads(
            run(
                "report",
                "--input",
                str(sample),
                "--as-of",
                AS_OF.isoformat(),
                "--out",
                str(page),
                "--json",
                "-c",
                fx_config(tmp_path),
            )
        )
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    chromium.open(page)
    chromium.call(
        "Browser.setDownloadBehavior",
        {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
        session=False,
    )
    chromium.click('button.csv[data-csv="t-abc"]')
    chromium.wait_event_where(
        "Browser.downloadProgress", lambda p: p.get("state") == "completed", timeout=10
    )
    rows = list(
        csv.reader((downloads / "abc_classes.csv").read_text(encoding="utf-8-sig").splitlines())
    )
    assert rows[0][0] == "class"
    assert [(r[0], int(r[1]), r[3]) for r in rows[1:]] == [
        (c["abc"], c["customers"], c["revenue"]) for c in figures["abc"]["classes"]
    ]


def test_a_large_export_report_is_small_and_right(chromium: Chromium, tmp_path: Path):
    """Small and right where the lists are capped: at 2,000 contacts the biggest cell
    already holds more contacts than the page shows, which is the regime of any larger
    export. Past the caps the page grows by the digits of its counts only (every list
    is capped, and a page with every list full is under MAX_BYTES: ``test_size.py``);
    the page of 100,000 contacts is measured by ``benchmarks/report_size.py``."""
    export = tmp_path / "export"
    write_csv_export(generate(seed=3, contacts=LARGE, as_of=AS_OF), export)
    page = tmp_path / "big.html"
    figures = json.loads(
        run(
            "report",
            "--input",
            str(export),
            "--as-of",
            AS_OF.isoformat(),
            "--out",
            str(page),
            "--json",
            "-c",
            fx_config(tmp_path),
        )
    )
    assert figures["overview"]["contacts"] == LARGE
    assert page.stat().st_size <= MAX_BYTES
    cell = max(figures["abc"]["migration_members"].values(), key=lambda c: c["total"])
    assert cell["total"] > cell["shown"] == 200  # capped, and the page says so
    check_page(chromium, page, export, tmp_path)


def test_history_of_several_syncs_draws_one_point_per_run(
    chromium: Chromium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A small portal: the chart has one point per recorded run whatever the number of
    contacts, and each sync of 40 contacts costs a fraction of one of 300."""
    from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig

    days = ["2026-04-30", "2026-05-31", "2026-06-30"]
    with HubSpotStandIn(seed=7, contacts=40, as_of=AS_OF, limits=LimitConfig(enabled=False)) as hub:
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
        config = tmp_path / "crmseg.toml"
        config.write_text(
            f'[crm]\nbase_url = "{hub.base_url}"\nca_bundle = "{hub.ca_path}"\n'
            f'[state]\npath = "{tmp_path / "state.duckdb"}"\n',
            encoding="utf-8",
        )
        for day in days:
            run("sync", "--config", str(config), "--as-of", day, "--quiet", "--allow-mass-change")
        # The report reads only the state file, but the config it reads names the
        # sandbox's CA file, which is checked to exist while the sandbox runs.
        page = tmp_path / "history.html"
        run("report", "--config", str(config), "--as-of", days[-1], "--out", str(page))
    chromium.open(page)
    assert chromium.errors() == []
    points = chromium.evaluate(
        "[...document.querySelectorAll('#c-history-lifecycle polyline')]"
        ".map(p => p.getAttribute('points').trim().split(/\\s+/).length)"
    )
    assert points and set(points) == {len(days)}
    shots = os.environ.get("CRMSEG_REPORT_SCREENSHOTS")
    if shots:
        chromium.evaluate("document.querySelector('header.top').style.position = 'static'")
        chromium.screenshot("#history", Path(shots) / "history.png")
        chromium.screenshot("#lifecycle", Path(shots) / "lifecycle.png")

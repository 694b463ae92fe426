"""``crmseg report`` as a user runs it: from a CSV export, from the state file of a
sync, with the ``[report]`` config section, and at the end of ``crmseg demo``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from sync.cli import app
from tests.cli.demo_run import demo
from tests.report.test_figures import CONTACTS, DEALS

AS_OF = date(2026, 6, 30)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (folder / "deals.csv").write_text(DEALS, encoding="utf-8")
    return folder


def assert_self_contained(page: str) -> None:
    """Nothing the page would fetch: no external scripts, styles, images or fonts."""
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert "<link" not in page and "<img" not in page and "@import" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "url(" not in page


def test_report_from_a_csv_export(runner: CliRunner, export: Path, tmp_path: Path):
    out = tmp_path / "report.html"
    result = runner.invoke(
        app,
        ["report", "--input", str(export), "--as-of", "2026-06-30", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["report"] == str(out)
    assert figures["abc_migration"]["B"]["A"]["contacts"] == 1
    page = out.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "Migration: previous window" in page and "bob@example.com" in page
    assert "history comes from the state file" in page


def test_report_section_of_the_config(runner: CliRunner, export: Path, tmp_path: Path):
    config = tmp_path / "conf" / "crmseg.toml"
    config.parent.mkdir()
    config.write_text(
        '[report]\noutput = "out/weekly.html"\ninclude_emails = false\ndetail_limit = 1\n',
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["report", "--config", str(config), "--input", str(export), "--as-of", "2026-06-30"]
    )
    assert result.exit_code == 0, result.output
    page = (config.parent / "out" / "weekly.html").read_text(encoding="utf-8")
    assert "@example.com" not in page and "include_emails = false" in page
    assert "Showing the first 1 of 2" in page  # the hygiene list, capped


def test_bad_report_config_and_input_exit_2(runner: CliRunner, export: Path, tmp_path: Path):
    config = tmp_path / "crmseg.toml"
    config.write_text("[report]\ndetail_limit = 0\n", encoding="utf-8")
    result = runner.invoke(app, ["report", "--config", str(config), "--input", str(export)])
    assert result.exit_code == 2 and "report.detail_limit" in result.output
    missing = runner.invoke(
        app, ["report", "--input", str(tmp_path / "nope"), "--out", str(tmp_path / "r.html")]
    )
    assert missing.exit_code == 2 and not (tmp_path / "r.html").exists()
    no_state = tmp_path / "s.toml"
    no_state.write_text(f'[state]\npath = "{tmp_path / "none.duckdb"}"\n', encoding="utf-8")
    result = runner.invoke(
        app, ["report", "--config", str(no_state), "--out", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2 and "no state file yet" in result.output


@pytest.fixture
def hub() -> Iterator[HubSpotStandIn]:
    with HubSpotStandIn(seed=5, contacts=80, as_of=AS_OF, limits=LimitConfig(enabled=False)) as hs:
        yield hs


def test_report_from_the_state_file_has_freshness_history_and_no_token(
    runner: CliRunner, hub: HubSpotStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
    config = tmp_path / "crmseg.toml"
    config.write_text(
        f'[crm]\nbase_url = "{hub.base_url}"\nca_bundle = "{hub.ca_path}"\n'
        f'[state]\npath = "{tmp_path / "state.duckdb"}"\n',
        encoding="utf-8",
    )
    for day in ("2026-05-31", "2026-06-30"):
        synced = runner.invoke(app, ["sync", "--config", str(config), "--as-of", day, "--quiet"])
        assert synced.exit_code == 0, synced.output
    out = tmp_path / "report.html"
    # The report reads the state file only: no token needed, none in the page.
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    result = runner.invoke(
        app,
        ["report", "--config", str(config), "--as-of", "2026-06-30", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["source"] == "state"
    assert {p["object_type"] for p in figures["overview"]["freshness"]} == {"contact", "deal"}
    assert [r["as_of"] for r in figures["history"]["runs"]] == ["2026-05-31", "2026-06-30"]
    assert (
        sum(
            figures["history"]["families"]["lifecycle"][v][1]
            for v in figures["history"]["families"]["lifecycle"]
        )
        == 80
    )
    # Flows are since the previous sync's date.
    assert figures["lifecycle"]["since"] == "2026-05-31"
    assert figures["lifecycle"]["baseline"] == "last_run"
    page = out.read_text(encoding="utf-8")
    assert hub.token not in page and hub.token not in result.stdout
    assert_self_contained(page)


def test_demo_ends_by_writing_the_report(tmp_path_factory: pytest.TempPathFactory):
    result = demo(tmp_path_factory)  # one demo run, shared with the tests that read it
    out = result.report
    assert result.exit_code == 0, result.output
    assert f"Report: {out}" in result.output
    page = out.read_text(encoding="utf-8")
    assert "as of 2026-06-30" in page and 'id="c-history-lifecycle"' in page


def test_open_shows_the_written_file_in_the_browser(
    runner: CliRunner, export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    opened: list[str] = []
    monkeypatch.setattr("sync.report.cli.webbrowser.open", opened.append)
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", "--input", str(export), "--out", str(out), "--open"])
    assert result.exit_code == 0, result.output
    assert opened == [out.resolve().as_uri()]

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from tests.cli.demo_run import DemoRun, demo

pytestmark = pytest.mark.e2e  # the demo and sync commands end to end


@pytest.fixture(scope="module")
def demo_json(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``crmseg demo --json``, run once: the tests below only read what it printed."""
    run = demo(tmp_path_factory, "--json")
    assert run.exit_code == 0, run.output
    return dict(json.loads(run.stdout))


def test_demo_prints_the_three_summary_tables(tmp_path_factory: pytest.TempPathFactory):
    result: DemoRun = demo(tmp_path_factory)
    assert result.exit_code == 0, result.output
    for title in (
        "Contacts per ABC class",
        "Contacts per lifecycle stage",
        "Contacts per RFM segment",
    ):
        assert title in result.stdout
    # one reporting currency, named: the sandbox portal's company currency
    assert "revenue (EUR)" in result.stdout
    assert "revenue in EUR" in result.output


def test_demo_syncs_the_sandbox_then_has_nothing_left_to_write(demo_json: dict[str, Any]):
    first, second = demo_json["first_sync"], demo_json["second_sync"]
    assert first["status"] == second["status"] == "ok"
    assert first["written"] == 300 and first["api_calls"]["objects.batch.update"] == 3
    assert second["plan"]["records"] == 0 and second["written"] == 0
    assert "objects.batch.update" not in second["api_calls"]
    assert "properties.create" not in second["api_calls"]


def test_demo_segments_equal_crmseg_segment_on_the_shipped_sample(demo_json: dict[str, Any]):
    """The sandbox holds the same generated data as the sample export."""
    from importlib import resources

    from sync.cli import DEMO_INTERESTS, SAMPLE_AS_OF, run_segmentation
    from sync.demo import demo_segmentation

    demo = demo_json["segments"]
    with resources.as_file(resources.files("sync") / "sample") as sample:
        _, offline = run_segmentation(sample, demo_segmentation(DEMO_INTERESTS), SAMPLE_AS_OF)
    # amount_in_home_currency of the sandbox equals the sample's amount * rate: same classes
    assert demo["currency"] == offline["currency"] == "EUR"
    for key in ("contacts", "customers", "abc", "lifecycle", "rfm_segment", "warnings"):
        assert demo[key] == offline[key], key


def test_demo_segments_are_consistent(demo_json: dict[str, Any]):
    summary = demo_json["segments"]
    assert summary["contacts"] == 300 and summary["as_of"] == "2026-06-30"
    assert sum(r["contacts"] for r in summary["abc"]) == 300
    assert sum(summary["lifecycle"].values()) == 300
    customers = sum(r["contacts"] for r in summary["abc"] if r["abc"] != "(none)")
    assert customers == summary["customers"] == 300 - summary["lifecycle"]["prospect"]
    shares = [float(r["revenue_share_percent"]) for r in summary["abc"] if r["abc"] != "(none)"]
    assert abs(sum(shares) - 100) < 0.2


def test_unexpected_failure_exits_1_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """Through the console entry point, in this process: what the shell sees is its
    exit code and stderr, and an escaped exception would surface here as itself."""
    import sync.cli as c

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(c, "run_demo", boom)
    monkeypatch.setattr(sys, "argv", ["crmseg", "demo"])
    with pytest.raises(SystemExit) as ended:
        c.main()
    stderr = capsys.readouterr().err
    assert ended.value.code == 1
    assert "Error: unexpected failure: RuntimeError: disk on fire" in stderr
    assert "Traceback" not in stderr


def test_shipped_sample_is_the_export_of_its_seed(tmp_path):
    """The demo's data can be regenerated: seed 7, 300 contacts, 900 deals, as of 2026-06-30."""
    from importlib import resources

    from connectors.sandbox.csv_export import write_csv_export
    from connectors.sandbox.generator import generate
    from sync.cli import SAMPLE_AS_OF

    write_csv_export(generate(seed=7, contacts=300, deals=900, as_of=SAMPLE_AS_OF), tmp_path)
    sample = resources.files("sync") / "sample"
    for name in ("companies.csv", "contacts.csv", "deals.csv"):
        assert (tmp_path / name).read_bytes() == (sample / name).read_bytes(), name

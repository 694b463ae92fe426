from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from sync.cli import app

pytestmark = pytest.mark.e2e  # the demo and sync commands end to end


def test_demo_prints_the_three_summary_tables(runner: CliRunner):
    result = runner.invoke(app, ["demo"])
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


def test_demo_syncs_the_sandbox_then_has_nothing_left_to_write(runner: CliRunner):
    demo = json.loads(runner.invoke(app, ["demo", "--json"]).stdout)
    first, second = demo["first_sync"], demo["second_sync"]
    assert first["status"] == second["status"] == "ok"
    assert first["written"] == 300 and first["api_calls"]["objects.batch.update"] == 3
    assert second["plan"]["records"] == 0 and second["written"] == 0
    assert "objects.batch.update" not in second["api_calls"]
    assert "properties.create" not in second["api_calls"]


def test_demo_segments_equal_crmseg_segment_on_the_shipped_sample(runner: CliRunner, tmp_path):
    """The sandbox holds the same generated data as the sample export."""
    from importlib import resources

    from sync.cli import DEMO_INTERESTS, SAMPLE_AS_OF, run_segmentation
    from sync.demo import demo_segmentation

    demo = json.loads(runner.invoke(app, ["demo", "--json"]).stdout)["segments"]
    with resources.as_file(resources.files("sync") / "sample") as sample:
        _, offline = run_segmentation(sample, demo_segmentation(DEMO_INTERESTS), SAMPLE_AS_OF)
    # amount_in_home_currency of the sandbox equals the sample's amount * rate: same classes
    assert demo["currency"] == offline["currency"] == "EUR"
    for key in ("contacts", "customers", "abc", "lifecycle", "rfm_segment", "warnings"):
        assert demo[key] == offline[key], key


def test_demo_segments_are_consistent(runner: CliRunner):
    summary = json.loads(runner.invoke(app, ["demo", "--json"]).stdout)["segments"]
    assert summary["contacts"] == 300 and summary["as_of"] == "2026-06-30"
    assert sum(r["contacts"] for r in summary["abc"]) == 300
    assert sum(summary["lifecycle"].values()) == 300
    customers = sum(r["contacts"] for r in summary["abc"] if r["abc"] != "(none)")
    assert customers == summary["customers"] == 300 - summary["lifecycle"]["prospect"]
    shares = [float(r["revenue_share_percent"]) for r in summary["abc"] if r["abc"] != "(none)"]
    assert abs(sum(shares) - 100) < 0.2


def test_unexpected_failure_exits_1_without_traceback(tmp_path):
    code = (
        "import sys; import sync.cli as c\n"
        "def boom(*a, **k): raise RuntimeError('disk on fire')\n"
        "c.run_demo = boom\n"
        "sys.argv = ['crmseg', 'demo']\n"
        "c.main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Error: unexpected failure: RuntimeError: disk on fire" in proc.stderr
    assert "Traceback" not in proc.stderr


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

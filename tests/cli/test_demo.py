from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from sync.cli import app


def test_demo_prints_the_three_summary_tables(runner: CliRunner):
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    for title in (
        "Contacts per ABC class",
        "Contacts per lifecycle stage",
        "Contacts per RFM segment",
    ):
        assert title in result.stdout


def test_demo_json_is_consistent(runner: CliRunner):
    summary = json.loads(runner.invoke(app, ["demo", "--json"]).stdout)
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
        "c.run_segmentation = boom\n"
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

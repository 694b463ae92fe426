from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from sync.cli import app

HEADER = (
    "contact_id,abc,abc_trend,rfm_r,rfm_f,rfm_m,rfm_score,rfm_segment,lifecycle,interests,"
    "data_quality"
)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_segment_writes_one_sorted_row_per_contact(runner: CliRunner, export: Path, tmp_path: Path):
    out = tmp_path / "tags.csv"
    result = runner.invoke(
        app, ["segment", "-i", str(export), "-o", str(out), "--as-of", "2024-12-31"]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == HEADER
    tags = rows(out)
    assert [t["contact_id"] for t in tags] == ["1", "10", "2"]
    by_id = {t["contact_id"]: t for t in tags}
    # Revenues: 1 -> 100, 2 -> 25, 10 -> 25; total 150. 1 has before 0 -> A; 10 and 2 tie:
    # only 1 is strictly greater, before 100/150 = 66.7 % for both -> A (v1 split the tie
    # by id: 2 got B).
    assert (by_id["1"]["abc"], by_id["10"]["abc"], by_id["2"]["abc"]) == ("A", "A", "A")
    assert by_id["10"]["data_quality"] == "missing_country;missing_email;missing_salutation"
    assert by_id["1"]["interests"] == ""


def test_level_option_overrides_config(runner: CliRunner, export: Path, tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text('[segmentation]\nlevel = "contact"\n', encoding="utf-8")
    out = tmp_path / "tags.csv"
    result = runner.invoke(
        app,
        [
            "segment",
            "-i",
            str(export),
            "-o",
            str(out),
            "--as-of",
            "2024-12-31",
            "-c",
            str(config),
            "--level",
            "company",
        ],
    )
    assert result.exit_code == 0, result.output
    by_id = {t["contact_id"]: t for t in rows(out)}
    assert by_id["2"]["lifecycle"] == "prospect"  # no company at company level
    # c1 is the only customer company (d1: 100) -> A; both its contacts inherit it.
    assert by_id["1"]["abc"] == by_id["10"]["abc"] == "A"
    assert by_id["1"]["lifecycle"] == by_id["10"]["lifecycle"] == "at_risk"


def test_interest_rules_from_config(runner: CliRunner, export: Path, tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[[segmentation.interests]]\ntag = "green"\ncontact_property = "topics"\nany_of = ["ECO"]\n',
        encoding="utf-8",
    )
    out = tmp_path / "tags.csv"
    result = runner.invoke(app, ["segment", "-i", str(export), "-o", str(out), "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert {t["contact_id"]: t["interests"] for t in rows(out)}["1"] == "green"


def test_as_of_option_beats_config(runner: CliRunner, export: Path, tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text("[segmentation]\nas_of = 2030-01-01\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "segment",
            "-i",
            str(export),
            "-o",
            str(tmp_path / "t.csv"),
            "-c",
            str(config),
            "--as-of",
            "2024-12-31",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["as_of"] == "2024-12-31"


def test_json_summary_counts(runner: CliRunner, export: Path, tmp_path: Path):
    result = runner.invoke(
        app,
        [
            "segment",
            "-i",
            str(export),
            "-o",
            str(tmp_path / "t.csv"),
            "--as-of",
            "2024-12-31",
            "--json",
        ],
    )
    summary = json.loads(result.stdout)
    assert summary["contacts"] == 3 and summary["customers"] == 3 and summary["rows_written"] == 3
    assert summary["orphan_deals"] == 0


def test_semicolon_delimiter_bom_and_multiline_fields(runner: CliRunner, tmp_path: Path):
    folder = tmp_path / "eu"
    folder.mkdir()
    (folder / "contacts.csv").write_bytes(
        "\ufeffid;email;first_name;last_name;salutation;country;company_id\n"
        '1;a@b.de;"Jo;Ann";"Mül\nler";;DE;\n'.encode()
    )
    (folder / "deals.csv").write_bytes(
        b"id;amount;close_date;won;contact_ids;company_ids\nd1;10.5;2024-01-02;true;1;\n"
    )
    out = tmp_path / "tags.csv"
    result = runner.invoke(
        app, ["segment", "-i", str(folder), "-o", str(out), "--as-of", "2024-12-31"]
    )
    assert result.exit_code == 0, result.output
    assert rows(out)[0]["abc"] == "A"


def test_version(runner: CliRunner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("crmseg ")


def test_every_command_has_help_and_is_in_the_readme(runner: CliRunner):
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for command in (["segment"], ["demo"], ["sandbox", "serve"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert f"crmseg {' '.join(command)}" in readme, command

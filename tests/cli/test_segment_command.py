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


def _currency_export(tmp_path: Path) -> Path:
    folder = tmp_path / "fx"
    folder.mkdir()
    (folder / "contacts.csv").write_text(
        "id,email,first_name,last_name,salutation,country,company_id\n"
        "1,a@b.de,Ann,Lee,Ms,DE,\n2,b@b.de,Bob,Ray,Mr,DE,\n",
        encoding="utf-8",
    )
    (folder / "deals.csv").write_text(
        "id,amount,close_date,won,contact_ids,company_ids,currency\n"
        "d1,100,2024-06-01,true,1,,EUR\nd2,100,2024-06-01,true,2,,USD\n"
        "d3,5,2024-06-02,false,2,,GBP\n",
        encoding="utf-8",
    )
    return folder


def test_currency_without_rate_exits_2_and_leaves_the_previous_tags(
    runner: CliRunner, tmp_path: Path
):
    folder = _currency_export(tmp_path)
    out = tmp_path / "tags.csv"
    out.write_text("previous run\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(
        '[segmentation]\ncurrency_rates = { EUR = "1", usd = "0.86" }\n', encoding="utf-8"
    )
    result = runner.invoke(
        app,
        ["segment", "-i", str(folder), "-o", str(out), "--as-of", "2024-12-31", "-c", str(config)],
    )
    assert result.exit_code == 2
    assert "GBP (first on line 4)" in result.output
    assert out.read_text(encoding="utf-8") == "previous run\n"


def test_rates_convert_and_the_output_names_the_reporting_currency(
    runner: CliRunner, tmp_path: Path
):
    folder = _currency_export(tmp_path)
    out = tmp_path / "tags.csv"
    config = tmp_path / "c.toml"
    config.write_text(
        '[segmentation]\ncurrency = "EUR"\nmin_segment_size = 3\n'
        'currency_rates = { EUR = "1", USD = "0.86", GBP = "1.17" }\n',
        encoding="utf-8",
    )
    args = [
        "segment",
        "-i",
        str(folder),
        "-o",
        str(out),
        "--as-of",
        "2024-12-31",
        "-c",
        str(config),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "revenue in EUR" in result.output
    assert "Warning: abc = A holds 2 contacts (fewer than min_segment_size 3)" in result.output
    summary = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert summary["currency"] == "EUR"
    # 100 EUR and 86 EUR (100 USD): both A (before 0 and 100/186)
    assert [(r["abc"], r["revenue"]) for r in summary["abc"]] == [("A", "186.00")]
    assert {"family": "abc", "value": "A", "contacts": 2} in [
        {k: w[k] for k in ("family", "value", "contacts")} for w in summary["warnings"]
    ]


def test_property_and_rule_family_columns_in_tags_csv(runner: CliRunner, tmp_path: Path):
    folder = _currency_export(tmp_path)
    (folder / "deals.csv").write_text(
        "id,amount,close_date,won,contact_ids,company_ids\nd1,100,2024-06-01,true,1,\n",
        encoding="utf-8",
    )
    contacts = (folder / "contacts.csv").read_text(encoding="utf-8").splitlines()
    contacts = [contacts[0] + ",source", contacts[1] + ",Messe München", contacts[2] + ","]
    (folder / "contacts.csv").write_text("\n".join(contacts) + "\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(
        '[[segmentation.properties]]\nfamily = "origin"\ncontact_property = "source"\n'
        '[[segmentation.rules]]\nfamily = "vip"\n'
        'values = [{ value = "yes", abc = ["A"] }, { value = "no" }]\n',
        encoding="utf-8",
    )
    out = tmp_path / "tags.csv"
    result = runner.invoke(
        app,
        ["segment", "-i", str(folder), "-o", str(out), "--as-of", "2024-12-31", "-c", str(config)],
    )
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == HEADER + ",origin,vip"
    by_id = {t["contact_id"]: t for t in rows(out)}
    assert (by_id["1"]["origin"], by_id["1"]["vip"]) == ("messe_münchen", "yes")
    assert (by_id["2"]["origin"], by_id["2"]["vip"]) == ("", "no")


def test_unknown_rule_condition_is_a_config_error_naming_the_key(
    runner: CliRunner, export: Path, tmp_path: Path
):
    config = tmp_path / "c.toml"
    config.write_text(
        '[[segmentation.rules]]\nfamily = "tier"\n'
        'values = [{ value = "gold", revenu_min = "10" }]\n',
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["segment", "-i", str(export), "-o", str(tmp_path / "t.csv"), "-c", str(config)]
    )
    assert result.exit_code == 2
    assert "segmentation.rules[0].values[0].revenu_min" in result.output

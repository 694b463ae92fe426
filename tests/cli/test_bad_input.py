"""Every bad input exits 2 with a message naming file, line and column, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app


def run(runner: CliRunner, folder: Path, out: Path, *extra: str):
    return runner.invoke(app, ["segment", "-i", str(folder), "-o", str(out), *extra])


@pytest.mark.parametrize(
    ("file", "content", "expected"),
    [
        (
            "deals.csv",
            "id,amount,close_date,won,contact_ids\nd1,1,2024-01-01,true,1\n",
            "deals.csv, line 1: missing column 'company_ids'",
        ),
        (
            "deals.csv",
            "id,amount,close_date,won,contact_ids,company_ids\n"
            "d1,1,2024-01-01,true,1,\nd2,12;5,2024-01-01,true,1,\n",
            "deals.csv, line 3, column 'amount': amount '12;5' is not a number",
        ),
        (
            "deals.csv",
            "id,amount,close_date,won,contact_ids,company_ids\n"
            'd0,1,2024-01-01,true,"1\n",\nd1,1,2024-02-30,true,1,\n',
            "deals.csv, line 4, column 'close_date': close_date '2024-02-30' is not a date",
        ),
        (
            "deals.csv",
            "id,amount,close_date,won,contact_ids,company_ids\nd1,1,2024-01-01,yes,1,\n",
            "deals.csv, line 2, column 'won': won 'yes' must be true or false",
        ),
        (
            "deals.csv",
            "id,amount,close_date,won,contact_ids,company_ids\n"
            "d1,1,2024-01-01,true,1,\nd1,2,2024-01-01,true,1,\n",
            "deals.csv, line 3, column 'id': duplicate id 'd1'",
        ),
        ("contacts.csv", "", "contacts.csv: the file is empty"),
        (
            "contacts.csv",
            "id,email,first_name,last_name,salutation,country,company_id\n",
            "contacts.csv: no contacts",
        ),
        (
            "contacts.csv",
            "id,email,first_name,last_name,salutation,country,company_id\n1,a,b,c,d,e,f\n2,a,b\n",
            "contacts.csv, line 3: expected 7 fields, found 3",
        ),
        (
            "deals.csv",
            "id,amount,close_date,won,contact_ids,company_ids\nd1,1e3,2024-01-01,true,1,\n",
            "column 'amount': amount '1e3' is not a number",
        ),
        (
            "deals.csv",
            "id,amount,close_date,won,contact_ids,company_ids\nd1,1,01.02.2024,true,1,\n",
            "column 'close_date': close_date '01.02.2024'",
        ),
    ],
)
def test_bad_input_exits_2_and_names_the_place(
    runner: CliRunner, export: Path, tmp_path: Path, file: str, content: str, expected: str
):
    (export / file).write_text(content, encoding="utf-8")
    out = tmp_path / "tags.csv"
    out.write_text("previous run\n", encoding="utf-8")
    result = run(runner, export, out)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert out.read_text(encoding="utf-8") == "previous run\n"
    assert list(tmp_path.glob(".tags.csv.*")) == []


def test_missing_file_exits_2(runner: CliRunner, export: Path, tmp_path: Path):
    (export / "deals.csv").unlink()
    result = run(runner, export, tmp_path / "t.csv")
    assert result.exit_code == 2 and "deals.csv: file not found" in result.stderr


def test_invalid_utf8_exits_2(runner: CliRunner, export: Path, tmp_path: Path):
    (export / "contacts.csv").write_bytes(
        b"id,email,first_name,last_name,salutation,country,company_id\n1,a,\xff\xfe,c,d,e,f\n"
    )
    result = run(runner, export, tmp_path / "t.csv")
    assert result.exit_code == 2 and "contacts.csv, line 2: not valid UTF-8" in result.stderr


def test_interest_rule_naming_a_missing_column_exits_2(
    runner: CliRunner, export: Path, tmp_path: Path
):
    config = tmp_path / "c.toml"
    config.write_text(
        '[[segmentation.interests]]\ntag = "x"\ndeal_property = "product_line"\nany_of = ["a"]\n',
        encoding="utf-8",
    )
    result = run(runner, export, tmp_path / "t.csv", "-c", str(config))
    assert result.exit_code == 2
    assert "deals.csv, line 1: an interest rule names deal property 'product_line'" in result.stderr


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "[segmentation]\nabc_a = 1.5\n",
            "segmentation.abc_a: Input should be less than or equal to 1",
        ),
        (
            '[segmentation]\nlevel = "team"\n',
            "segmentation.level: Input should be 'contact' or 'company'",
        ),
        ("[segmentation]\nwindow = 3\n", "segmentation.window: unknown key"),
        (
            '[segmentation]\nrfm_method = "thresholds"\n',
            "needs rfm_r_edges, rfm_f_edges, rfm_m_edges",
        ),
        (
            "[segmentation]\nrfm_r_edges = [3, 2, 1, 0]\n",
            "segmentation.rfm_r_edges: edges must be strictly ascending",
        ),
        ("[segmentation\n", "not valid TOML"),
        (
            '[lists]\nlifecycle = ["at_risk", "sleeping"]\n',
            "lists.lifecycle: 'sleeping' is not one of prospect, new, active",
        ),
        ('[lists]\nabc = ["A", "A"]\n', "lists.abc: values must not repeat"),
        (
            '[lists]\ninterests = ["eco"]\n',
            "lists.interests names tags no [[segmentation.interests]] rule gives: eco",
        ),
        ('[crm]\ntype = "salesforce"\n', "needs instance_url"),
        (
            '[crm]\ntype = "salesforce"\ninstance_url = "https://acme.my.salesforce.com"\n'
            'auth = "jwt"\n',
            'auth = "jwt" needs username',
        ),
        ('[crm]\ntype = "pipedrive"\n', "crm.type: Input should be 'hubspot' or 'salesforce'"),
        ("[sync]\nmass_change_share = 0\n", "sync.mass_change_share: Input should be greater"),
    ],
)
def test_bad_config_exits_2_naming_file_and_key(
    runner: CliRunner, export: Path, tmp_path: Path, toml: str, expected: str
):
    config = tmp_path / "bad.toml"
    config.write_text(toml, encoding="utf-8")
    out = tmp_path / "t.csv"
    result = run(runner, export, out, "-c", str(config))
    assert result.exit_code == 2, result.output
    assert str(config) in result.stderr and expected in result.stderr
    assert not out.exists()


def test_bad_as_of_exits_2(runner: CliRunner, export: Path, tmp_path: Path):
    result = run(runner, export, tmp_path / "t.csv", "--as-of", "31.12.2024")
    assert result.exit_code == 2 and "--as-of: '31.12.2024'" in result.stderr


def test_unknown_level_is_a_usage_error(runner: CliRunner, export: Path, tmp_path: Path):
    assert run(runner, export, tmp_path / "t.csv", "--level", "team").exit_code == 2

"""The rule tests share one open DuckDB (``conftest.fresh_connection``); no run may see
what an earlier one left, or its results would depend on the order tests run in."""

from __future__ import annotations

from conftest import contact, deal, fresh_connection, run_segmentation


def test_a_fresh_connection_sees_no_table_of_an_earlier_one() -> None:
    with fresh_connection() as con:
        con.execute("CREATE TABLE contacts (id VARCHAR)")
        con.execute("INSERT INTO contacts VALUES ('left over')")
        con.execute("CREATE TEMP TABLE seg_tags AS SELECT 1 AS x")
    with fresh_connection() as con:
        tables = con.execute("SELECT database_name, table_name FROM duckdb_tables()").fetchall()
        assert tables == []
        con.execute("CREATE TABLE contacts (id VARCHAR)")  # no clash with the earlier one


def test_runs_one_after_another_give_what_each_alone_gives(tmp_path) -> None:
    big = run_segmentation(
        tmp_path / "big",
        [contact("1"), contact("2"), contact("3")],
        [deal("d1", "100", "2024-12-01", "1"), deal("d2", "5", "2024-12-01", "2")],
    )
    small = run_segmentation(tmp_path / "small", [contact("9")], [])
    assert sorted(big) == ["1", "2", "3"]
    assert list(small) == ["9"]
    assert small["9"]["lifecycle"] == "prospect" and small["9"]["abc"] is None
    assert small.report.contacts == 1 and small.report.customers == 0

"""Run ``segment_floor.sql``: the default rules hand-written in DuckDB, the floor that
``segment_bench.py`` measures ``crmseg segment`` against (not part of crmseg).

    python benchmarks/segment_floor.py DATA_DIR OUT_CSV [--as-of 2026-06-30]
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb

SQL = Path(__file__).resolve().parent / "segment_floor.sql"


def statements(text: str) -> list[str]:
    """The script's statements (each ends with ';' at the end of a line), comments dropped."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in re.split(r";[ \t]*(?:\n|$)", body) if s.strip()]


def run(directory: Path, out: Path, as_of: date) -> None:
    params = {
        "contacts": str(directory / "contacts.csv"),
        "deals": str(directory / "deals.csv"),
        "as_of": as_of,
        "window_start": as_of - timedelta(days=365),
        "prev_window_start": as_of - timedelta(days=730),
        "out": str(out),
    }
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for sql in statements(SQL.read_text()):
        used = {name: params[name] for name in set(re.findall(r"\$(\w+)", sql))}
        if sql.startswith("COPY"):  # COPY ... TO takes no parameter for its file
            sql = sql.replace("$out", "'" + str(out).replace("'", "''") + "'")
            used.pop("out")
        rows = con.execute(sql, used).fetchall() if sql.startswith("SELECT") else None
        if sql.startswith("CREATE") or sql.startswith("COPY"):
            con.execute(sql, used)
        elif rows:
            sys.exit(f"bad input: {rows[0][0]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("directory", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--as-of", default="2026-06-30")
    a = ap.parse_args()
    run(a.directory, a.out, date.fromisoformat(a.as_of))


if __name__ == "__main__":
    main()

"""Where the report's data comes from: a CSV export or the state file of a sync.

From the state file the report reads the mirror (no CRM call, no token
needed) and what only the state knows: when each object type was last pulled,
the runs, and the segment sizes each run recorded.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from sync.config import Config
from sync.report.figures import StateFacts, figures
from sync.state import State

#: The history shows at most this many recent runs.
HISTORY_RUNS = 104


def report_from_export(input_dir: Path, config: Config, as_of: date) -> dict[str, Any]:
    """Figures for a CSV export (contacts.csv, deals.csv, optional companies.csv)."""
    # Imported here: sync.cli registers this module's command.
    from sync.cli import run_segmentation

    con, _ = run_segmentation(input_dir, config.segmentation, as_of)
    try:
        return figures(con, config, as_of, source="csv")
    finally:
        con.close()


def state_facts(con: duckdb.DuckDBPyConnection, path: Path, as_of: date) -> StateFacts:
    mirror = {
        t: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
        for t, table in (
            ("contact", "mirror_contacts"),
            ("company", "mirror_companies"),
            ("deal", "mirror_deals"),
        )
    }
    pulls = [
        {
            "object_type": r[0],
            "records": mirror.get(r[0], 0),
            "last_pull": _when(r[1]),
            "last_full_pull": _when(r[2]),
        }
        for r in con.execute(
            "SELECT object_type, last_pull_at, last_full_at FROM pulls ORDER BY object_type"
        ).fetchall()
    ]
    done = "status IN ('ok', 'partial') AND NOT dry_run"
    last = con.execute(f"SELECT max(finished_at) FROM runs WHERE {done}").fetchone()
    earlier = con.execute(
        f"SELECT max(as_of) FROM runs WHERE {done} AND as_of < ?", [as_of]
    ).fetchone()
    sizes = con.execute(
        """SELECT run_id, as_of, family, value, contacts FROM segment_sizes
        WHERE run_id IN (SELECT DISTINCT run_id FROM segment_sizes ORDER BY run_id DESC LIMIT ?)
        ORDER BY run_id, family, value""",
        [HISTORY_RUNS],
    ).fetchall()
    return StateFacts(
        path=str(path),
        pulls=pulls,
        last_sync=last[0] if last else None,
        sizes=[(int(r[0]), r[1], str(r[2]), str(r[3]), int(r[4])) for r in sizes],
        previous_run_as_of=earlier[0] if earlier else None,
    )


def report_from_state(state: State, config: Config, as_of: date) -> dict[str, Any]:
    """Figures for the mirror of an open state file."""
    facts = state_facts(state.con, state.path, as_of)
    return figures(state.con, config, as_of, source="state", state=facts)


def _when(moment: Any) -> str | None:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else None

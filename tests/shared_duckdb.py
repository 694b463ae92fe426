"""One open DuckDB per test process, and a fresh catalog of it per use.

Opening an in-memory DuckDB costs tens of milliseconds of CPU, more than loading or
segmenting the few rows a rule or loader test writes, and those tests do it hundreds
of times. So one database stays open per test process, and each use gets a
connection of its own (``cursor()``: its temporary tables, where the loader stages
and segmenting writes, are its own) using a freshly attached in-memory catalog (where
the loader writes the input tables), which is detached afterwards.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import duckdb

_DATABASE: list[duckdb.DuckDBPyConnection] = []
_CATALOGS = itertools.count()


@contextlib.contextmanager
def fresh_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection that sees no table of any earlier use, without opening a
    database."""
    if not _DATABASE:
        _DATABASE.append(duckdb.connect())
    con = _DATABASE[0].cursor()
    catalog = f"run_{next(_CATALOGS)}"
    con.execute(f"ATTACH ':memory:' AS {catalog}")
    con.execute(f"USE {catalog}")
    try:
        yield con
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("USE memory")
            con.execute(f"DETACH {catalog}")
        con.close()

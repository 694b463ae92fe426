"""The state file: one DuckDB database holding the CRM mirror, the pull cursors,
the values crmseg last saw in (or wrote to) the CRM, the run log, the audit of
every change written and the segment sizes per run.

Why one file: the segmentation runs as SQL right over the mirror, and a run's
bookkeeping commits in the same transactions as the data it describes. The
mirror is a cache: if the file is lost, the next run pulls everything again
and, because the plan diffs against values pulled from the CRM, writes only
what is really different.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import duckdb

from connectors.errors import AccountMismatch, StateError
from connectors.scratch import ScratchDir
from sync.state_mirror import Mirror, PullState
from sync.state_queries import Queries
from sync.state_runs import RunLog
from sync.state_sql import INPUT_VIEWS, NORMALISE, SCHEMA, SCHEMA_VERSION, TABLE, now

__all__ = [
    "CACHE_HINT",
    "NORMALISE",
    "SCHEMA",
    "SCHEMA_VERSION",
    "TABLE",
    "AccountMismatch",
    "PullState",
    "State",
    "StateError",
    "io_message",
    "now",
    "prepare_folder",
]


#: The meta key holding a digest of the ``SCHEMA`` script last run on the file: an
#: open for writing runs the script (a dozen statements, the largest part of an
#: open's own CPU) only when the file has not seen this very script yet.
SCHEMA_DIGEST_KEY = "schema_sql"
SCHEMA_DIGEST = hashlib.sha256(SCHEMA.encode()).hexdigest()[:16]

#: How long a run waits for a reader (``crmseg status``...) to let go of the file.
READER_WAIT_SECONDS = 10.0

#: What every state-file message ends with: the file is a cache.
CACHE_HINT = (
    "the state file is only a cache: move it away (or set another [state] path) and "
    "crmseg pulls everything again"
)


def prepare_folder(path: Path) -> None:
    """Create the state file's folder, or say why it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(
            f"{path}: cannot create the state file's folder ({exc.strerror}); "
            "set [state] path to a writable place"
        ) from None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _locked(exc: BaseException) -> bool:
    """Whether DuckDB refused the file because another process holds its lock."""
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def io_message(path: Path, exc: BaseException) -> str:
    text = str(exc)
    if _locked(exc):
        return f"{path}: another process holds the state file; is another crmseg run using it?"
    if "No space left" in text or "disk full" in text.lower():
        return f"{path}: no space left on the device holding the state file; free some space"
    if "not a valid DuckDB database" in text or "Corrupt" in text or "corrupt" in text:
        return f"{path}: not a crmseg state file (damaged or another kind of file); {CACHE_HINT}"
    if "Permission denied" in text or "read-only" in text.lower():
        return (
            f"{path}: cannot write the state file (permission denied or read-only file "
            "system); set [state] path to a writable place"
        )
    return f"{path}: cannot use the state file ({_first_line(exc)}); {CACHE_HINT}"


class State(Mirror, RunLog, Queries):
    """An open state file. One process at a time (``sync.lock`` guards it).

    Its parts live beside it: the mirror (:mod:`sync.state_mirror`), the run log
    (:mod:`sync.state_runs`) and the reads the commands show
    (:mod:`sync.state_queries`)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        #: Set when the file was locked by a running sync and a copy was read instead.
        self.copied = False
        self._copy_dir: ScratchDir | None = None
        if path.is_dir():
            raise StateError(f"{path}: is a directory, not a state file; {CACHE_HINT}")
        if not read_only:
            prepare_folder(path)
        elif not path.exists():
            raise StateError(f"{path}: no state file yet; run `crmseg sync` first")
        try:
            self.con = self._connect(path, read_only) if read_only else self._connect_rw(path)
        except duckdb.IOException as exc:
            if read_only and _locked(exc):
                self.con = self._connect_copy(path)
            else:
                raise StateError(io_message(path, exc)) from None
        except duckdb.Error as exc:
            raise StateError(
                f"{path}: not a crmseg state file ({_first_line(exc)}); {CACHE_HINT}"
            ) from None
        try:
            self.con.execute("SET enable_progress_bar = false")
            if not read_only:
                self._prepare_schema()
            elif self.meta_table_missing():
                raise StateError(f"{path}: not a crmseg state file (no meta table); {CACHE_HINT}")
            elif self._schema_outdated():
                # A file from an older crmseg, read before any sync upgraded it: read an
                # upgraded copy, since a reader must not change the file.
                self.con.close()
                self.con = self._connect_copy(path)
                self.con.execute(SCHEMA)
            self.con.execute(INPUT_VIEWS)
        except BaseException as exc:
            # A refused file must not stay open: its connection would keep the file's
            # lock (and a copy's folder) for as long as the error is referenced.
            self.close()
            if isinstance(exc, duckdb.Error):
                raise StateError(io_message(path, exc)) from None
            raise

    @staticmethod
    def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(path), read_only=read_only)

    @classmethod
    def _connect_rw(cls, path: Path) -> duckdb.DuckDBPyConnection:
        """Open for writing. ``status``, ``history`` and ``explain`` may hold the file for
        a moment (they read it while nobody writes): wait for them, a few seconds."""
        deadline = time.monotonic() + READER_WAIT_SECONDS
        while True:
            try:
                return cls._connect(path, False)
            except duckdb.IOException as exc:
                if not _locked(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _connect_copy(self, path: Path) -> duckdb.DuckDBPyConnection:
        """A running sync holds the file: read a copy of it (with its write-ahead log)."""
        self._copy_dir = ScratchDir("state")
        copy = Path(self._copy_dir.path) / path.name
        for attempt in range(3):
            try:
                shutil.copyfile(path, copy)
                wal = path.with_name(path.name + ".wal")
                if wal.exists():
                    shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
                con = duckdb.connect(str(copy))
                self.copied = True
                return con
            except (OSError, duckdb.Error):
                if attempt == 2:
                    raise StateError(
                        f"{path}: a running sync holds the state file and no consistent copy "
                        "could be read; try again when it has finished"
                    ) from None
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def _schema_outdated(self) -> bool:
        """Whether the mirror lacks columns a newer crmseg added (``SCHEMA``'s ALTERs)."""
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'mirror_contacts' AND column_name = 'city'"
        ).fetchone()
        return not row or row[0] == 0

    def meta_table_missing(self) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        ).fetchone()
        return not row or row[0] == 0

    def close(self) -> None:
        self.con.close()
        if self._copy_dir is not None:
            self._copy_dir.remove()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta ------------------------------------------------------------------
    def _prepare_schema(self) -> None:
        """Create or upgrade the tables (``SCHEMA``), then check the schema version.

        Every statement of ``SCHEMA`` is a no-op on a file it already ran on, so it
        is skipped when the file's meta holds this script's digest: one read
        instead of a dozen statements per open."""
        try:
            known = self._meta_values("schema_version", SCHEMA_DIGEST_KEY)
        except duckdb.CatalogException:  # a new file: no meta table yet
            known = {}
        if known.get(SCHEMA_DIGEST_KEY) != SCHEMA_DIGEST:
            self.con.execute(SCHEMA)
        found = known.get("schema_version")
        if found is not None and found != SCHEMA_VERSION:
            raise StateError(
                f"{self.path}: state file of schema {found}, this crmseg uses "
                f"{SCHEMA_VERSION}; {CACHE_HINT}"
            )
        missing = {"schema_version": SCHEMA_VERSION, SCHEMA_DIGEST_KEY: SCHEMA_DIGEST}
        self.set_metas({k: v for k, v in missing.items() if known.get(k) != v})

    def _meta_values(self, *keys: str) -> dict[str, str]:
        rows = self.con.execute(
            "SELECT key, value FROM meta WHERE key IN (SELECT unnest($1::VARCHAR[]))", [list(keys)]
        ).fetchall()
        return {str(k): str(v) for k, v in rows}

    def set_metas(self, values: dict[str, str]) -> None:
        """Set several meta keys in one statement (one commit outside a transaction)."""
        if values:
            self.con.execute(
                "INSERT OR REPLACE INTO meta SELECT unnest($1::VARCHAR[]), unnest($2::VARCHAR[])",
                [list(values), list(values.values())],
            )

    def meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def bind_source(self, source: str) -> bool:
        """Tie the mirror to one API endpoint (files without an account binding); a
        different one empties it. True if emptied."""
        known = self.meta("source")
        if known == source:
            return False
        self.con.execute("BEGIN")
        emptied = known is not None and self.meta("account") is None
        if emptied:
            self.forget_mirror()
        self.set_meta("source", source)
        self.con.execute("COMMIT")
        return emptied

    def account(self) -> str | None:
        """The CRM account the state file belongs to (``None`` before the first run)."""
        return self.meta("account")

    def check_account(self, account: str) -> None:
        """Refuse a state file of another account, before anything is pulled or written."""
        self._refuse_other_account(self.account(), account)

    def _refuse_other_account(self, known: str | None, account: str) -> None:
        if known is not None and known != account:
            raise AccountMismatch(
                f"{self.path} belongs to {known}, but the credentials are for {account}. "
                "Nothing was pulled or written. Give this account its own [state] path, or "
                "move the file away (it is only a cache: crmseg then pulls everything again)"
            )

    def bind_account(self, account: str, source: str) -> bool:
        """Record the account at the first run (after a connection to it succeeded).

        A file of another account is refused (``AccountMismatch``); the same account
        behind another URL (a proxy) keeps its mirror. A file written before accounts
        were recorded is adopted, emptied first if its API endpoint differs.
        Returns whether the mirror was emptied. The binding is read once: every run
        asks this, and each read is a statement of its own.
        """
        known = self._meta_values("account", "source")
        self._refuse_other_account(known.get("account"), account)
        emptied = False
        if known.get("account") is None:
            emptied = self.bind_source(source)
        if known.get("account") is None or known.get("source") != source:
            # One statement: the account and its endpoint are stored together or not at all.
            self.set_metas({"account": account, "source": source})
        return emptied

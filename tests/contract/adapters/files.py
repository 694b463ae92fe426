"""The CSV connector on a generated export: read-only, no change history, no schema."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from connectors.base import ObjectType
from connectors.files import FilesConnector
from connectors.sandbox.csv_export import write_csv_export
from connectors.sandbox.generator import generate
from connectors.sandbox.vocabulary import EXCHANGE_RATES, HOME_CURRENCY

from . import Target

WRITES = "CSV exports are read-only: tags go to tags.csv (`crmseg segment --out`)"


class FilesTarget(Target):
    name = "files"
    read_only = True
    not_applicable: ClassVar[Mapping[str, str]] = {
        "paging": "a CSV export is read in one page per file",
        "cursors": "CSV exports carry no modification times: every pull is a full pull",
        "deletions": "CSV exports carry no deletions: a record left out is simply absent",
        "fields": "a CSV file has no schema to provision (tags.csv carries every tag column)",
        "writes": WRITES,
        "errors": WRITES,
        "lists": "CSV exports have no lists (filter tags.csv by its columns instead)",
        "lost answers": "nothing is sent over a network",
    }

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="crmseg-contract-")
        folder = Path(self._dir.name)
        write_csv_export(generate(seed=5, contacts=40), folder)
        self.folder = folder
        rates = {code: Decimal(rate) for code, rate in EXCHANGE_RATES.items()}
        self.files = FilesConnector(folder, currency=HOME_CURRENCY, currency_rates=rates)
        self.connector = self.files

    def ids(self, object_type: ObjectType) -> set[str]:
        """Read back from the files themselves, not through the connector."""
        import csv

        name = {"contact": "contacts", "company": "companies", "deal": "deals"}[object_type]
        with (self.folder / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
            return {row["id"] for row in csv.DictReader(fh)}

    def now(self) -> datetime:
        return datetime.now(UTC)

    def close(self) -> None:
        self.files.con.close()
        self._dir.cleanup()

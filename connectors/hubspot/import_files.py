"""The CSV files of one HubSpot import, written to disk row by row.

Why a module: the files' layout (one file per set of changed fields, at most
``ROWS_PER_FILE`` rows each, the record id mapped as ``HUBSPOT_OBJECT_ID``) and
the digest that names the import are one job; starting and following the import
is :mod:`connectors.hubspot.imports`'.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Sequence
from typing import Any

from connectors.base import ObjectType, TagUpdate, chunks
from connectors.hubspot.records import PLURAL

__all__ = ["OBJECT_TYPE_ID", "ROWS_PER_FILE", "split", "write_files"]

OBJECT_TYPE_ID = {"contact": "0-1", "company": "0-2", "deal": "0-3"}
ROWS_PER_FILE = 1_048_576


def write_files(
    folder: str, object_type: ObjectType, updates: Sequence[TagUpdate], paths: list[str]
) -> tuple[list[dict[str, Any]], str]:
    """Write ``updates`` as import files into ``folder`` (each path appended to
    ``paths`` as soon as it exists, so the caller can remove it whatever happens);
    returns the files' specs for the import request and the hex digest of their rows.

    Records whose updates touch the same fields share a file, so no row carries a
    blank cell for a field it does not change (whether a blank clears is undocumented).
    """
    groups: dict[tuple[str, ...], list[TagUpdate]] = {}
    for u in updates:
        groups.setdefault(tuple(sorted(u.values)), []).append(u)
    files: list[dict[str, Any]] = []
    digest = hashlib.sha256()
    for g, (fields, group) in enumerate(sorted(groups.items())):
        for part, rows in enumerate(chunks(group, ROWS_PER_FILE)):
            name = f"{PLURAL[object_type]}-{g + 1}-{part + 1}.csv"
            path = os.path.join(folder, name)
            paths.append(path)
            _write_csv(path, fields, rows, digest)
            files.append(_file_spec(name, object_type, fields))
    return files, digest.hexdigest()


def split(updates: list[TagUpdate], parts: int) -> list[list[TagUpdate]]:
    """``updates`` in ``parts`` contiguous slices of near-equal size (the first ones
    longer by one), so the same updates always make the same parts."""
    size, extra = divmod(len(updates), parts)
    out, at = [], 0
    for n in range(parts):
        stop = at + size + (1 if n < extra else 0)
        out.append(updates[at:stop])
        at = stop
    return out


def _write_csv(path: str, fields: Sequence[str], rows: Sequence[TagUpdate], digest: Any) -> None:
    """One import file (the id column, then ``fields``), written row by row to disk;
    ``digest`` takes in every row, for the import's name."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", *fields])
        for u in rows:
            cells = [u.record_id, *(str(u.values[f]) for f in fields)]
            writer.writerow(cells)
            digest.update("\x1f".join(cells).encode() + b"\n")


def _file_spec(name: str, object_type: str, fields: Sequence[str]) -> dict[str, Any]:
    oid = OBJECT_TYPE_ID[object_type]
    mappings: list[dict[str, Any]] = [
        {
            "columnObjectTypeId": oid,
            "columnName": "id",
            "propertyName": "hs_object_id",
            "columnType": "HUBSPOT_OBJECT_ID",
        }
    ]
    mappings += [{"columnObjectTypeId": oid, "columnName": f, "propertyName": f} for f in fields]
    return {
        "fileName": name,
        "fileFormat": "CSV",
        "fileImportPage": {"hasHeader": True, "columnMappings": mappings},
    }

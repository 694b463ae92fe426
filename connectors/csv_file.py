"""One CSV file as crmseg reads it: encoding, delimiter and header checked up front, and
the exact line of a bad record found by scanning with Python's ``csv`` module (quoted
fields may span several lines, so DuckDB's row number is not the line).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.errors import InputError


def quote_identifier(name: str) -> str:
    """Quote a column name taken from a file header for use in SQL."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class CsvFile:
    path: Path
    delimiter: str
    header: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path.name


def inspect_csv(path: Path, required: Sequence[str]) -> CsvFile:
    """Check encoding, find the delimiter and check the header has the required columns."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 20)
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 1 MiB boundary
            line = head[: exc.start].count(b"\n") + 1
            raise InputError("not valid UTF-8", file=path.name, line=line) from None
        text = head[: exc.start].decode("utf-8")
    if not text.strip():
        raise InputError("the file is empty (no header line)", file=path.name)
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    header = tuple(h.strip() for h in next(csv.reader([first_line], delimiter=delimiter)))
    for column in required:
        if column not in header:
            raise InputError(
                f"missing column {column!r} (the header has: {', '.join(header)})",
                file=path.name,
                line=1,
            )
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise InputError(
            f"column {duplicates[0]!r} appears twice in the header", file=path.name, line=1
        )
    return CsvFile(path=path, delimiter=delimiter, header=header)


def record_line(csv_file: CsvFile, index: int) -> int:
    """The line on which data record ``index`` (0-based) starts."""
    with csv_file.path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=csv_file.delimiter)
        next(reader, None)
        start = reader.line_num + 1
        for i, _ in enumerate(reader):
            if i == index:
                return start
            start = reader.line_num + 1
    return start


#: The longest record (one CSV line, quoted line breaks included) crmseg reads: 64 MB.
MAX_RECORD_BYTES = 64 * 1024 * 1024


def mixed_line_endings(csv_file: CsvFile) -> InputError | None:
    """A file whose lines end in both CRLF and LF (or CR) confuses CSV readers; name the
    first line that ends differently from the first one. Quoted line breaks count too:
    they are rare enough that naming them is more help than harm."""
    first: bytes | None = None
    line = 1
    with csv_file.path.open("rb") as fh:
        data = fh.read()
    i = 0
    while True:
        j = min((k for k in (data.find(b"\r", i), data.find(b"\n", i)) if k >= 0), default=-1)
        if j < 0:
            return None
        end = b"\r\n" if data[j : j + 2] == b"\r\n" else data[j : j + 1]
        if first is None:
            first = end
        elif end != first:
            names = {b"\r\n": "CRLF (Windows)", b"\n": "LF (Unix)", b"\r": "CR (old Mac)"}
            return InputError(
                f"mixed line endings: this line ends in {names[end]}, the first line in "
                f"{names[first]}; save the file with one kind of line ending",
                file=csv_file.name,
                line=line,
            )
        line += 1
        i = j + len(end)


def find_malformed_record(csv_file: CsvFile) -> InputError | None:
    """Scan with Python's csv module for a record with the wrong number of fields."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_BYTES))
    try:
        with csv_file.path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=csv_file.delimiter, strict=True)
            next(reader, None)
            start = reader.line_num + 1
            for row in reader:
                if row and len(row) != len(csv_file.header):
                    return InputError(
                        f"expected {len(csv_file.header)} fields, found {len(row)}",
                        file=csv_file.name,
                        line=start,
                    )
                start = reader.line_num + 1
    except csv.Error as exc:
        reason = str(exc)
        if "field larger than field limit" in reason:
            reason = f"a field is longer than the {MAX_RECORD_BYTES // 2**20} MB crmseg reads"
        return InputError(f"malformed CSV: {reason}", file=csv_file.name, line=start)
    except UnicodeDecodeError:
        return InputError("not valid UTF-8", file=csv_file.name)
    return None

"""One CSV file as crmseg reads it: encoding, delimiter and header checked up front, and
the exact line of a bad record found by scanning with Python's ``csv`` module (quoted
fields may span several lines, so DuckDB's row number is not the line).
"""

from __future__ import annotations

import codecs
import csv
import re
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


#: A line ending of any kind (CRLF first, so that it counts as one ending).
_ENDING = re.compile(rb"\r\n|\r|\n")
#: After a first line in CRLF: an LF without its CR, or a CR without its LF.
_NOT_CRLF = re.compile(rb"(?<!\r)\n|\r(?!\n)")
_ENDING_NAMES = {b"\r\n": "CRLF (Windows)", b"\n": "LF (Unix)", b"\r": "CR (old Mac)"}


def mixed_line_endings(csv_file: CsvFile) -> InputError | None:
    """A file whose lines end in both CRLF and LF (or CR) confuses CSV readers; name the
    first line that ends differently from the first one. Quoted line breaks count too:
    they are rare enough that naming them is more help than harm.

    Why searches over the whole file instead of a walk from ending to ending: this runs
    on every file DuckDB refuses, and a walk that looks for the next CR from each LF
    reads to the end of an LF-only file once per line (minutes on a large export)."""
    with csv_file.path.open("rb") as fh:
        data = fh.read()
    found = _ENDING.search(data)
    if found is None:
        return None
    first = found.group()
    if first == b"\r\n":
        other = _NOT_CRLF.search(data, found.end())
        at = -1 if other is None else other.start()
    else:
        at = data.find(b"\n" if first == b"\r" else b"\r", found.end())
        if at > 0 and data[at - 1 : at + 1] == b"\r\n":
            at -= 1  # after lines in CR, an LF that ends a CRLF
    if at < 0:
        return None
    end = b"\r\n" if data[at : at + 2] == b"\r\n" else data[at : at + 1]
    # the lines before it, a CRLF counted once
    line = 1 + data.count(b"\n", 0, at) + data.count(b"\r", 0, at) - data.count(b"\r\n", 0, at)
    return InputError(
        f"mixed line endings: this line ends in {_ENDING_NAMES[end]}, the first line in "
        f"{_ENDING_NAMES[first]}; save the file with one kind of line ending",
        file=csv_file.name,
        line=line,
    )


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

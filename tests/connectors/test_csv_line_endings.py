"""The mixed-line-ending check names the first line that ends differently, in one pass
over the file (it used to look for the next CR from every line: quadratic on LF files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.csv_file import CsvFile, mixed_line_endings

NAMES = {b"\r\n": "CRLF (Windows)", b"\n": "LF (Unix)", b"\r": "CR (old Mac)"}


def check(tmp_path: Path, data: bytes) -> tuple[int, str] | None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(data)
    problem = mixed_line_endings(CsvFile(path, ",", ("id",)))
    if problem is None:
        return None
    assert problem.file == "contacts.csv"
    assert problem.line is not None
    return problem.line, str(problem)


def walk(data: bytes) -> tuple[int, bytes, bytes] | None:
    """The check as a walk from ending to ending: the reference the searches must match."""
    first: bytes | None = None
    line, i = 1, 0
    while True:
        ends = [k for k in (data.find(b"\r", i), data.find(b"\n", i)) if k >= 0]
        if not ends:
            return None
        j = min(ends)
        end = b"\r\n" if data[j : j + 2] == b"\r\n" else data[j : j + 1]
        if first is None:
            first = end
        elif end != first:
            return line, end, first
        line += 1
        i = j + len(end)


@pytest.mark.parametrize(
    ("data", "line", "this", "first"),
    [
        (b"id\r\n1\r\n2\n3\r\n", 3, b"\n", b"\r\n"),  # an LF after CRLF lines
        (b"id\r\n1\r2\r\n", 2, b"\r", b"\r\n"),  # a lone CR after a CRLF
        (b"id\r\n\n", 2, b"\n", b"\r\n"),  # an empty line in LF right after a CRLF
        (b"id\n1\n2\r\n", 3, b"\r\n", b"\n"),  # a CRLF after LF lines
        (b"id\n1\r2\n", 2, b"\r", b"\n"),
        (b"id\r1\r\r2\n", 4, b"\n", b"\r"),  # an empty line in CR, then an LF
        (b"id\r1\r\n", 2, b"\r\n", b"\r"),  # the LF of a CRLF after CR lines
    ],
)
def test_the_first_line_ending_otherwise_is_named(
    tmp_path: Path, data: bytes, line: int, this: bytes, first: bytes
) -> None:
    found = check(tmp_path, data)
    assert found is not None
    assert found[0] == line
    assert f"this line ends in {NAMES[this]}, the first line in {NAMES[first]}" in found[1]


@pytest.mark.parametrize(
    "data", [b"", b"id", b"id\n1\n2", b"id\r\n1\r\n", b"id\r1\r2\r", b"id\n\n\n"]
)
def test_one_kind_of_ending_or_none_is_no_problem(tmp_path: Path, data: bytes) -> None:
    assert check(tmp_path, data) is None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([b"a", b",", b"\r", b"\n", b"\r\n"]), max_size=30))
def test_same_answer_as_the_walk_from_ending_to_ending(
    tmp_path_factory: pytest.TempPathFactory, parts: list[bytes]
) -> None:
    data = b"".join(parts)
    expected = walk(data)
    found = check(tmp_path_factory.mktemp("endings"), data)
    if expected is None:
        assert found is None
    else:
        line, this, first = expected
        assert found is not None and found[0] == line
        assert f"ends in {NAMES[this]}, the first line in {NAMES[first]}" in found[1]


def test_a_large_file_in_lf_is_checked_in_one_pass(tmp_path: Path) -> None:
    """200,000 lines in LF and one CRLF at the end: the walk read the file once per
    line here (about 2 * 10^11 bytes); the searches read it a few times."""
    data = b"id\n" + b"1234567890\n" * 200_000 + b"x\r\n"
    assert check(tmp_path, data) == (
        200_002,
        "contacts.csv, line 200002: mixed line endings: this line ends in CRLF (Windows), "
        "the first line in LF (Unix); save the file with one kind of line ending",
    )

"""One printer for every command: rich tables on stderr for people, JSON on stdout
for machines. stdout is data, stderr is talk."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


class _DataConsole(Console):
    """stdout: a reader that stops early (``crmseg demo | head``) is no failure."""

    def on_broken_pipe(self) -> None:
        # rich's own handler exits 1; the output was wanted only this far.
        self.quiet = True
        raise BrokenPipeError


stderr = Console(stderr=True, soft_wrap=True)
stdout = _DataConsole(highlight=False, soft_wrap=True)


def print_json(payload: dict[str, Any]) -> None:
    stdout.print(json.dumps(payload, indent=2, default=str, sort_keys=False), markup=False)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    stdout.print(table)

"""The root of crmseg's one exception tree, and the one error the segmentation raises.

The segmentation is pure (input tables, config, as_of -> tags) and depends on no
connector, so the tree's root lives here; :mod:`connectors.errors` builds the
rest of the tree on it and re-exports both names. Catch them from there.
"""

from __future__ import annotations

__all__ = ["CrmsegError", "InputError"]


class CrmsegError(Exception):
    """Base of every error crmseg raises on purpose."""


class InputError(CrmsegError):
    """Input data is invalid; the message names the file, line and column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        where = ", ".join(
            part
            for part in (
                file,
                f"line {line}" if line is not None else None,
                f"column {column!r}" if column is not None else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message

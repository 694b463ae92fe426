"""``crmseg report``: the marketer's view of the segments, as one offline HTML page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.report.build import report_from_export, report_from_state

__all__ = ["report_from_export", "report_from_state"]


def __getattr__(name: str) -> Any:
    # The builders (DuckDB, the state file, the segmentation engine) load on first
    # use: every crmseg process imports this package to register ``crmseg report``.
    if name in __all__:
        from sync.report import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

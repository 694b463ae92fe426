"""The rules of docs/SEGMENTS.md as DuckDB SQL: (input tables, config, as_of) -> tags."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segmentation.config import InterestRule, SegmentationConfig
    from segmentation.engine import TAG_COLUMNS, SegmentationReport, segment
    from segmentation.inputs import create_input_tables

__all__ = [
    "TAG_COLUMNS",
    "InterestRule",
    "SegmentationConfig",
    "SegmentationReport",
    "create_input_tables",
    "segment",
]

# Where each public name lives. They load on first use: importing
# ``segmentation.errors`` (as the error tree of every crmseg process does) runs this
# package first, and must not pull in pydantic and DuckDB with it.
_HOMES = {
    "TAG_COLUMNS": "segmentation.engine",
    "InterestRule": "segmentation.config",
    "SegmentationConfig": "segmentation.config",
    "SegmentationReport": "segmentation.engine",
    "create_input_tables": "segmentation.inputs",
    "segment": "segmentation.engine",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value

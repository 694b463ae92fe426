"""The rules of docs/SEGMENTS.md as DuckDB SQL: (input tables, config, as_of) -> tags."""

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

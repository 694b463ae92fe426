"""Segment size warnings (docs/SEGMENTS.md "Segment size warnings").

A tag value held by at least one but fewer than ``min_segment_size`` contacts
rarely pays for its own campaign: the run says so and changes no tag. Counted
in contacts at either level; multi-value families per single value.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from segmentation.config import SegmentationConfig
from segmentation.families import quote

SINGLE_VALUED = ("abc", "abc_trend", "rfm_segment", "lifecycle")
MULTI_VALUED = ("interests", "data_quality")


@dataclass(frozen=True)
class SizeWarning:
    family: str
    value: str
    contacts: int

    def message(self, minimum: int) -> str:
        return (
            f"{self.family} = {self.value} holds {self.contacts} contact"
            f"{'' if self.contacts == 1 else 's'} (fewer than min_segment_size {minimum})"
        )


def size_warnings(
    con: duckdb.DuckDBPyConnection, config: SegmentationConfig
) -> tuple[SizeWarning, ...]:
    """The small segments of ``seg_tags``, sorted by family (in column order) and value."""
    if config.min_segment_size <= 1:
        return ()
    single = [*SINGLE_VALUED, *config.family_names]
    parts = [
        f"SELECT {i} AS pos, '{name}' AS family, {quote(name)} AS value FROM seg_tags "
        f"WHERE {quote(name)} IS NOT NULL"
        for i, name in enumerate(single)
    ]
    parts += [
        f"SELECT {len(single) + i} AS pos, '{name}' AS family, "
        f"unnest(string_split({name}, ';')) AS value FROM seg_tags WHERE {name} IS NOT NULL"
        for i, name in enumerate(MULTI_VALUED)
    ]
    rows = con.execute(
        "SELECT family, value, count(*) AS n FROM (" + " UNION ALL ".join(parts) + ") "
        "WHERE value <> '' GROUP BY pos, family, value HAVING count(*) < $minimum "
        "ORDER BY pos, value",
        {"minimum": config.min_segment_size},
    ).fetchall()
    return tuple(SizeWarning(str(f), str(v), int(n)) for f, v, n in rows)

"""The CRM fields crmseg owns: one per tag family, named by :mod:`connectors.naming`.

Every field is an enumeration with all its possible values declared up front,
so marketers can filter by them and lists can be built on them; a value is
only ever written after its option exists. The prefix is what the writer
checks before it sends anything: crmseg never touches a field it does not own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from connectors.base import FieldSpec, ObjectType
from connectors.naming import field_name, list_name, owned
from segmentation.config import CONDITION_VALUES, SegmentationConfig
from segmentation.families import quote

__all__ = [
    "ABC_CLASSES",
    "ABC_TRENDS",
    "LIFECYCLES",
    "QUALITY_ISSUES",
    "RFM_SCORES",
    "RFM_SEGMENTS",
    "Family",
    "families",
    "field_specs",
    "list_name",
    "observed_values",
    "owned",
]

#: The values of the computed families: the same lists rule conditions are checked against.
ABC_CLASSES = CONDITION_VALUES["abc"]
ABC_TRENDS = CONDITION_VALUES["abc_trend"]
RFM_SEGMENTS = CONDITION_VALUES["rfm_segment"]
LIFECYCLES = CONDITION_VALUES["lifecycle"]
QUALITY_ISSUES = (
    "missing_email",
    "invalid_email",
    "duplicate_email",
    "missing_name",
    "missing_country",
    "missing_salutation",
    "missing_address",
)
RFM_SCORES = tuple(f"{r}{f}{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6))


@dataclass(frozen=True)
class Family:
    """One tag family: its ``seg_tags`` column, field name, label and values."""

    column: str
    label: str
    options: tuple[str, ...]
    multi: bool = False
    #: Company-level tags (``level = "company"``) are written to companies too.
    entity_level: bool = True

    @property
    def field(self) -> str:
        return field_name(self.column)


def observed_values(
    con: duckdb.DuckDBPyConnection, config: SegmentationConfig
) -> dict[str, tuple[str, ...]]:
    """The values each property family holds after a compute (``seg_tags``, and the
    companies' own values at company level): a family without a map learns its
    options from the data, so its field's options grow as values appear."""
    out: dict[str, tuple[str, ...]] = {}
    for prop in config.properties:
        sources = ["seg_tags"]
        if config.level == "company" and prop.source == "company":
            sources.append("seg_entity_tags")
        column = quote(prop.family)
        union = " UNION ".join(f"SELECT {column} AS v FROM {t}" for t in sources)
        rows = con.execute(f"SELECT DISTINCT v FROM ({union}) WHERE v IS NOT NULL ORDER BY v")
        out[prop.family] = tuple(str(r[0]) for r in rows.fetchall())
    return out


def _property_options(prop_map: Mapping[str, str] | None, seen: Sequence[str]) -> tuple[str, ...]:
    declared = [] if prop_map is None else [*prop_map.values(), "other"]
    return tuple(dict.fromkeys([*declared, *seen]))


def families(
    config: SegmentationConfig, observed: Mapping[str, Sequence[str]] | None = None
) -> tuple[Family, ...]:
    """The tag families, with the interest options the config's rules can give; property
    families with their map's values (plus ``other``) and the ``observed`` ones, rule
    families with their configured values."""
    interest_tags = tuple(sorted({rule.tag for rule in config.interests}))
    all_families = (
        Family("abc", "crmseg ABC class", ABC_CLASSES),
        Family("abc_trend", "crmseg ABC trend", ABC_TRENDS),
        Family("rfm_score", "crmseg RFM score", RFM_SCORES),
        Family("rfm_segment", "crmseg RFM segment", RFM_SEGMENTS),
        Family("lifecycle", "crmseg lifecycle stage", LIFECYCLES),
        Family("interests", "crmseg interests", interest_tags, multi=True, entity_level=False),
        Family(
            "data_quality", "crmseg data quality", QUALITY_ISSUES, multi=True, entity_level=False
        ),
    )
    # Without interest rules there is no interest tag to hold: no field for it.
    built_in = tuple(f for f in all_families if f.options)
    properties = tuple(
        Family(
            p.family,
            f"crmseg {p.family.replace('_', ' ')}",
            _property_options(p.map, (observed or {}).get(p.family, ())),
            entity_level=p.source == "company",
        )
        for p in config.properties
    )
    rules = tuple(
        Family(r.family, f"crmseg {r.family.replace('_', ' ')}", r.options) for r in config.rules
    )
    return built_in + properties + rules


def field_specs(
    config: SegmentationConfig,
    object_type: ObjectType,
    observed: Mapping[str, Sequence[str]] | None = None,
) -> list[FieldSpec]:
    """The fields to provision on ``object_type`` (companies only at company level); a
    property family with no value yet gets its field once a value appears."""
    return [
        FieldSpec(
            name=f.field,
            label=f.label,
            options=f.options,
            multi=f.multi,
            description=f"Set by crmseg (segment family {f.column}); do not edit by hand.",
        )
        for f in families(config, observed)
        if (object_type == "contact" or f.entity_level) and f.options
    ]

"""The CRM fields crmseg owns: one per tag family, named ``crmseg_<family>``.

Every field is an enumeration with all its possible values declared up front,
so marketers can filter by them and lists can be built on them; a value is
only ever written after its option exists. The prefix is what the writer
checks before it sends anything: crmseg never touches a field it does not own.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.base import FieldSpec, ObjectType
from segmentation.config import SegmentationConfig

PREFIX = "crmseg_"

ABC_CLASSES = ("A", "B", "C")
ABC_TRENDS = ("new", "up", "down", "same")
RFM_SEGMENTS = (
    "champion",
    "loyal",
    "potential_loyalist",
    "new_customer",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose",
    "hibernating",
)
LIFECYCLES = ("prospect", "new", "active", "repeat", "loyal", "at_risk", "inactive", "reactivated")
QUALITY_ISSUES = (
    "missing_email",
    "invalid_email",
    "duplicate_email",
    "missing_name",
    "missing_country",
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
        return PREFIX + self.column


def families(config: SegmentationConfig) -> tuple[Family, ...]:
    """The tag families, with the interest options the config's rules can give."""
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
    return tuple(f for f in all_families if f.options)


def field_specs(config: SegmentationConfig, object_type: ObjectType) -> list[FieldSpec]:
    """The fields to provision on ``object_type`` (companies only at company level)."""
    return [
        FieldSpec(
            name=f.field,
            label=f.label,
            options=f.options,
            multi=f.multi,
            description=f"Set by crmseg (segment family {f.column}); do not edit by hand.",
        )
        for f in families(config)
        if object_type == "contact" or f.entity_level
    ]


def owned(field: str) -> bool:
    return field.startswith(PREFIX)


def list_name(family: str, value: str) -> str:
    """Deterministic, so a list is found again by its name on every run."""
    return f"crmseg · {family} = {value}"

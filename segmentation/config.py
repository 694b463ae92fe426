"""The ``[segmentation]`` parameters of docs/SEGMENTS.md, validated.

Every default here is the one docs/SEGMENTS.md states; ``config.example.toml``
documents the same keys.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal
from typing import Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

Edges = list[Decimal]

#: The checks of docs/SEGMENTS.md "Data quality", in their sorted order.
QualityCheck = Literal[
    "duplicate_email",
    "invalid_email",
    "missing_address",
    "missing_country",
    "missing_email",
    "missing_name",
    "missing_salutation",
]
QUALITY_CHECKS: tuple[QualityCheck, ...] = get_args(QualityCheck)
#: Default: every check but ``missing_address`` (not every business mails postcards).
DEFAULT_QUALITY_CHECKS: tuple[QualityCheck, ...] = (
    "duplicate_email",
    "invalid_email",
    "missing_country",
    "missing_email",
    "missing_name",
    "missing_salutation",
)

#: The built-in columns of ``seg_tags`` and ``tags.csv``, in order; a property or rule
#: family must not shadow one (its field would clash).
TAG_COLUMNS = (
    "contact_id",
    "abc",
    "abc_trend",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_score",
    "rfm_segment",
    "lifecycle",
    "interests",
    "data_quality",
)
BUILT_IN_FAMILIES = frozenset(TAG_COLUMNS)
#: A family name becomes the CRM field ``crmseg_<family>`` (HubSpot internal names and
#: Salesforce API names alike: lowercase letters, digits, single underscores).
FAMILY_PATTERN = r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"
#: A tag value: not empty, no ``;`` (the multi-value separator), no surrounding blanks.
TAG_VALUE_PATTERN = r"^[^;\s](?:[^;]*[^;\s])?$"
#: The values rule conditions may name, per tag (the same lists ``sync.fields`` provisions).
CONDITION_VALUES: dict[str, tuple[str, ...]] = {
    "abc": ("A", "B", "C"),
    "abc_trend": ("new", "up", "down", "same"),
    "lifecycle": (
        "prospect",
        "new",
        "active",
        "repeat",
        "loyal",
        "at_risk",
        "inactive",
        "reactivated",
    ),
    "rfm_segment": (
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
    ),
}


class InterestRule(BaseModel):
    """One interest tag: matches when a contact's (or a deal's) property contains a term."""

    model_config = ConfigDict(extra="forbid")

    tag: str = Field(min_length=1, max_length=100, pattern=r"^[^;\s](?:[^;]*[^;\s])?$")
    contact_property: str | None = Field(default=None, min_length=1)
    deal_property: str | None = Field(default=None, min_length=1)
    any_of: list[str] = Field(min_length=1)

    @field_validator("any_of")
    @classmethod
    def _terms_not_empty(cls, terms: list[str]) -> list[str]:
        if any(t == "" for t in terms):
            raise ValueError("terms must not be empty strings (an empty term matches everything)")
        return terms

    @model_validator(mode="after")
    def _exactly_one_source(self) -> InterestRule:
        if (self.contact_property is None) == (self.deal_property is None):
            raise ValueError("set exactly one of contact_property or deal_property")
        return self

    @property
    def source(self) -> Literal["contact", "deal"]:
        return "contact" if self.contact_property is not None else "deal"

    @property
    def property(self) -> str:
        return self.contact_property or self.deal_property or ""


class PropertyFamily(BaseModel):
    """A tag family copied from a contact or company property (docs/SEGMENTS.md "Property
    families"), optionally through a map."""

    model_config = ConfigDict(extra="forbid")

    family: str = Field(min_length=1, max_length=30, pattern=FAMILY_PATTERN)
    contact_property: str | None = Field(default=None, min_length=1)
    company_property: str | None = Field(default=None, min_length=1)
    map: dict[str, str] | None = None

    @field_validator("map")
    @classmethod
    def _map_keys_unique_and_values_tags(
        cls, mapping: dict[str, str] | None
    ) -> dict[str, str] | None:
        if mapping is None:
            return None
        seen: dict[str, str] = {}
        for key, value in mapping.items():
            folded = key.strip().lower()
            if folded == "":
                raise ValueError("map keys must not be empty (an empty value stays empty)")
            if folded in seen:
                raise ValueError(
                    f"map keys {seen[folded]!r} and {key!r} are the same compared "
                    "case-insensitively"
                )
            seen[folded] = key
            if not re.fullmatch(TAG_VALUE_PATTERN, value):
                raise ValueError(
                    f"map value {value!r} (for {key!r}) is not a valid tag: it must not be "
                    "empty, contain ';' or start or end with blanks"
                )
        return mapping

    @model_validator(mode="after")
    def _exactly_one_source(self) -> PropertyFamily:
        if (self.contact_property is None) == (self.company_property is None):
            raise ValueError("set exactly one of contact_property or company_property")
        return self

    @property
    def source(self) -> Literal["contact", "company"]:
        return "contact" if self.contact_property is not None else "company"

    @property
    def property(self) -> str:
        return self.contact_property or self.company_property or ""

    def folded_map(self) -> dict[str, str] | None:
        """The map with keys trimmed and lowercased, as values are looked up."""
        if self.map is None:
            return None
        return {k.strip().lower(): v for k, v in self.map.items()}


class RuleValue(BaseModel):
    """One value of a rule family and its conditions, all of which must hold
    (docs/SEGMENTS.md "Rule families"); every bound is inclusive."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=100, pattern=TAG_VALUE_PATTERN)
    abc: list[str] | None = None
    abc_trend: list[str] | None = None
    lifecycle: list[str] | None = None
    rfm_segment: list[str] | None = None
    revenue_min: Decimal | None = None
    revenue_max: Decimal | None = None
    frequency_min: int | None = Field(default=None, ge=0)
    frequency_max: int | None = Field(default=None, ge=0)
    purchases_min: int | None = Field(default=None, ge=0)
    recency_max: int | None = Field(default=None, ge=0)
    average_order_max: Decimal | None = None

    @field_validator("abc", "abc_trend", "lifecycle", "rfm_segment")
    @classmethod
    def _valid_tags(cls, values: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if values is None:
            return None
        allowed = CONDITION_VALUES[str(info.field_name)]
        for value in values:
            if value not in allowed:
                raise ValueError(
                    f"{value!r} is not a {info.field_name} tag (one of {', '.join(allowed)})"
                )
        return values

    @field_validator("revenue_min", "revenue_max", "average_order_max")
    @classmethod
    def _finite(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not value.is_finite():
            raise ValueError("must be a finite number")
        return value


class RuleFamily(BaseModel):
    """A named family of values, the first whose conditions all hold wins."""

    model_config = ConfigDict(extra="forbid")

    family: str = Field(min_length=1, max_length=30, pattern=FAMILY_PATTERN)
    values: list[RuleValue] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _values_unique(cls, values: list[RuleValue]) -> list[RuleValue]:
        names = [v.value for v in values]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"value {repeated[0]!r} appears twice")
        return values

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(v.value for v in self.values)


#: SQL words a family name cannot be: it becomes a column of the tag tables. DuckDB's
#: non-unreserved keywords (``duckdb_keywords()``), written out: asking DuckDB costs every
#: process that validates a config a database of its own (tens of milliseconds);
#: ``tests/segmentation/test_property_families.py`` pins the list to the installed DuckDB.
_RESERVED_WORDS = """
all analyse analyze and anti any array as asc asof asymmetric at authorization between
bigint binary bit boolean both by case cast char character check coalesce collate collation
column columns concurrently constraint create cross dec decimal default deferrable desc
describe distinct do else end except exists extract false fetch float for foreign freeze
from full generated glob group grouping grouping_id having ilike in initially inner inout
int integer intersect interval into is isnull join lambda lateral leading left like limit
map national natural nchar none not notnull null nullif numeric offset on only or order out
outer overlaps overlay pivot pivot_longer pivot_wider placing position positional precision
primary qualify real references returning right row select semi setof show similar smallint
some struct substring summarize symmetric table tablesample then time timestamp to trailing
treat trim true try_cast tuple union unique unpack unpivot using values varchar variadic
verbose when where window with xmlattributes xmlconcat xmlelement xmlexists xmlforest
xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable
"""
RESERVED_WORDS = frozenset(_RESERVED_WORDS.split())


def _decimal_rate(currency: str, raw: object) -> Decimal:
    if not isinstance(raw, str):
        raise ValueError(
            f'rate of {currency} must be a decimal string like "0.86" (got {raw!r}; a TOML '
            "number is binary floating point, not exact)"
        )
    try:
        rate = Decimal(raw.strip())
    except ArithmeticError:
        raise ValueError(f"rate of {currency} {raw!r} is not a decimal number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"rate of {currency} {raw!r} must be a positive number")
    return rate


class SegmentationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date | None = None
    level: Literal["contact", "company"] = "contact"
    window_days: int = Field(default=365, ge=1)
    abc_a: Decimal = Field(default=Decimal("0.80"), gt=0, le=1)
    abc_b: Decimal = Field(default=Decimal("0.15"), ge=0, le=1)
    rfm_method: Literal["quantile", "thresholds"] = "quantile"
    rfm_r_edges: Edges | None = None
    rfm_f_edges: Edges | None = None
    rfm_m_edges: Edges | None = None
    new_days: int = Field(default=90, ge=0)
    active_days: int = Field(default=180, ge=0)
    inactive_days: int = Field(default=365, ge=0)
    loyal_purchases: int = Field(default=3, ge=1)
    interests: list[InterestRule] = Field(default_factory=list)
    #: CSV exports: the currency of an empty ``currency`` cell (ISO 4217 code).
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    #: CSV exports: one unit of each currency in the reporting currency, as decimal strings.
    currency_rates: dict[str, Decimal] | None = None
    quality_checks: list[QualityCheck] = Field(default_factory=lambda: list(DEFAULT_QUALITY_CHECKS))
    properties: list[PropertyFamily] = Field(default_factory=list)
    rules: list[RuleFamily] = Field(default_factory=list)
    min_segment_size: int = Field(default=20, ge=0)

    @field_validator("currency")
    @classmethod
    def _upper_currency(cls, code: str | None) -> str | None:
        return None if code is None else code.upper()

    @field_validator("currency_rates", mode="before")
    @classmethod
    def _rates(cls, raw: object) -> object:
        if not isinstance(raw, dict):
            return raw
        rates: dict[str, Decimal] = {}
        for key, value in raw.items():
            code = str(key).strip().upper()
            if not re.fullmatch(r"[A-Z]{3}", code):
                raise ValueError(f"{key!r} is not a currency code (three letters, ISO 4217)")
            if code in rates:
                raise ValueError(f"currency {code} has two rates (keys compare case-insensitively)")
            rates[code] = _decimal_rate(code, value)
        return rates

    @field_validator("quality_checks")
    @classmethod
    def _checks_unique(cls, checks: list[QualityCheck]) -> list[QualityCheck]:
        if len(set(checks)) != len(checks):
            raise ValueError("checks must not repeat")
        return checks

    @field_validator("rfm_r_edges", "rfm_f_edges", "rfm_m_edges")
    @classmethod
    def _four_ascending(cls, edges: Edges | None) -> Edges | None:
        if edges is None:
            return None
        if len(edges) != 4:
            raise ValueError(f"needs exactly 4 numbers, got {len(edges)}")
        if any(b <= a for a, b in itertools.pairwise(edges)):
            raise ValueError("edges must be strictly ascending")
        return edges

    @model_validator(mode="after")
    def _consistent(self) -> SegmentationConfig:
        if self.abc_a + self.abc_b > 1:
            raise ValueError("abc_a + abc_b must be at most 1")
        if self.rfm_method == "thresholds":
            missing = [
                k for k in ("rfm_r_edges", "rfm_f_edges", "rfm_m_edges") if getattr(self, k) is None
            ]
            if missing:
                raise ValueError(f'rfm_method = "thresholds" needs {", ".join(missing)}')
        if not self.active_days <= self.inactive_days:
            raise ValueError("active_days must not exceed inactive_days")
        names = [p.family for p in self.properties] + [r.family for r in self.rules]
        for name in names:
            if name in BUILT_IN_FAMILIES:
                raise ValueError(f"family {name!r} is the name of a built-in tag column")
            if name in RESERVED_WORDS:
                raise ValueError(
                    f"family {name!r} is a reserved SQL word; choose another name (e.g. {name}_tag)"
                )
            if names.count(name) > 1:
                raise ValueError(f"family {name!r} is defined twice")
        return self

    @property
    def family_names(self) -> tuple[str, ...]:
        """The property families, then the rule families, each in configured order: the
        extra columns of ``seg_tags`` and ``tags.csv``."""
        return tuple(p.family for p in self.properties) + tuple(r.family for r in self.rules)

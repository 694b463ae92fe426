"""The ``[segmentation]`` parameters of SEGMENTS.md, validated.

Every default here is the one SEGMENTS.md states; ``config.example.toml``
documents the same keys.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Edges = list[Decimal]


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
        return self

"""The crmseg config file: TOML, validated by pydantic.

Secrets never live here (they come from environment variables). Every problem
in a file is reported at once, each as one line naming the file, the TOML key
and what is allowed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connectors.errors import ConfigError
from segmentation.config import SegmentationConfig
from sync.fields import ABC_CLASSES, ABC_TRENDS, LIFECYCLES, QUALITY_ISSUES, RFM_SEGMENTS

#: Requests per 10 seconds per private app, by HubSpot subscription (CRM notes 6).
HUBSPOT_TIERS = {"free": 100, "starter": 100, "professional": 190, "enterprise": 190}

#: The tag families a list can be kept for, and the values each may take.
LISTABLE_FAMILIES = ("abc", "abc_trend", "rfm_segment", "lifecycle", "interests", "data_quality")
#: The values a list can be kept for, per family (interests: the configured tags).
LIST_VALUES: dict[str, tuple[str, ...]] = {
    "abc": ABC_CLASSES,
    "abc_trend": ABC_TRENDS,
    "rfm_segment": RFM_SEGMENTS,
    "lifecycle": LIFECYCLES,
    "data_quality": QUALITY_ISSUES,
}


class CrmConfig(BaseModel):
    """``[crm]``: which CRM, and how hard crmseg may use its API."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["hubspot", "salesforce"] = "hubspot"
    #: HubSpot subscription tier: sets the 10-second request budget.
    tier: Literal["free", "starter", "professional", "enterprise"] = "professional"
    #: Overrides the tier's budget (e.g. 250 with the API limit increase pack).
    requests_per_10s: int | None = Field(default=None, ge=1, le=1000)
    #: Requests in flight at once while writing (all within the budget).
    concurrency: int = Field(default=4, ge=1, le=16)
    #: Share of the daily API allowance left untouched for the account's other
    #: integrations (default: 5 % on HubSpot, 20 % on Salesforce).
    daily_reserve: float | None = Field(default=None, ge=0, lt=1)
    #: HubSpot: deal stages (internal ids) that mean "won" (Salesforce uses IsWon).
    won_stages: list[str] = Field(default_factory=lambda: ["closedwon"], min_length=1)
    #: The deal field holding the amount (default: HubSpot ``amount``; Salesforce
    #: ``Amount``, converted to the corporate currency in multi-currency orgs).
    amount_property: str | None = Field(default=None, min_length=1)
    #: Salesforce: the org's My Domain URL, e.g. https://acme.my.salesforce.com.
    instance_url: str | None = Field(default=None, pattern=r"^https://[^\s/]+/?$")
    #: Salesforce: OAuth flow of the connected app ("client_credentials" or "jwt").
    auth: Literal["client_credentials", "jwt"] = "client_credentials"
    #: Salesforce: the connected app's consumer key (or SALESFORCE_CLIENT_ID).
    client_id: str | None = None
    #: Salesforce, JWT bearer flow: the integration user's username.
    username: str | None = None
    #: Salesforce REST API version.
    api_version: str = Field(default="62.0", pattern=r"^[0-9]{2,3}\.0$")
    #: Salesforce: above this many changes a run writes through one Bulk API 2.0 job.
    bulk_ingest_threshold: int = Field(default=10_000, ge=1)
    #: Salesforce: a full pull of more rows than this reads through Bulk API 2.0 query.
    bulk_query_threshold: int = Field(default=50_000, ge=1)
    #: HubSpot: a full pull of more records of one type than this reads one CRM export
    #: (needs the crm.export scope); 0 never exports.
    export_threshold: int = Field(default=50_000, ge=0)
    #: HubSpot: more tag changes of one type than this are written by one CRM import
    #: (needs the crm.import scope); 0 never imports.
    import_threshold: int = Field(default=20_000, ge=0)
    #: Incremental pulls start this long before the stored cursor (clock skew,
    #: search indexing lag).
    overlap_minutes: int = Field(default=10, ge=0, le=24 * 60)
    #: Seconds before one HTTP request is abandoned (and retried).
    timeout_seconds: float = Field(default=30, gt=0)
    #: API base URL and CA bundle; only for proxies and the local sandbox.
    base_url: str | None = None
    ca_bundle: Path | None = None

    @property
    def ten_secondly_limit(self) -> int:
        return self.requests_per_10s or HUBSPOT_TIERS[self.tier]

    @model_validator(mode="after")
    def _complete_for_its_type(self) -> CrmConfig:
        if self.type == "salesforce":
            if self.instance_url is None:
                raise ValueError(
                    'type = "salesforce" needs instance_url (the org\'s My Domain URL)'
                )
            if self.auth == "jwt" and not self.username:
                raise ValueError('auth = "jwt" needs username (the integration user)')
        return self


class StateConfig(BaseModel):
    """``[state]``: where the DuckDB file with the mirror and run history lives."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("crmseg")) / "state.duckdb"
    )

    @field_validator("path")
    @classmethod
    def _expand_home(cls, path: Path) -> Path:
        return path.expanduser()


class SyncConfig(BaseModel):
    """``[sync]``: safety switches of a sync run."""

    model_config = ConfigDict(extra="forbid")

    #: A run that would overwrite the tags of more than this share of contacts stops
    #: before writing (``--allow-mass-change`` lets it through).
    mass_change_share: float = Field(default=0.30, gt=0, le=1)
    #: A full pull that finds fewer than this share of the contacts the mirror holds stops.
    min_pull_share: float = Field(default=0.50, ge=0, le=1)
    #: An incremental sync does a full pull instead when the last one is older than
    #: this: it catches association changes that leave no modification stamp.
    full_pull_every_days: int = Field(default=7, ge=1)


class ListsConfig(BaseModel):
    """``[lists]``: one CRM list per (tag family, value), e.g. ``lifecycle = ["at_risk"]``."""

    model_config = ConfigDict(extra="forbid")

    abc: list[str] = Field(default_factory=list)
    abc_trend: list[str] = Field(default_factory=list)
    rfm_segment: list[str] = Field(default_factory=list)
    lifecycle: list[str] = Field(default_factory=list)
    interests: list[str] = Field(default_factory=list)
    data_quality: list[str] = Field(default_factory=list)

    @field_validator("abc", "abc_trend", "rfm_segment", "lifecycle", "data_quality")
    @classmethod
    def _known_values(cls, values: list[str], info: ValidationInfo) -> list[str]:
        allowed = LIST_VALUES[str(info.field_name)]
        for value in values:
            if value not in allowed:
                raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return values

    @field_validator("*")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("values must not repeat")
        return values

    def entries(self) -> list[tuple[str, str]]:
        return [(family, v) for family in LISTABLE_FAMILIES for v in getattr(self, family)]


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segmentation: SegmentationConfig = Field(default_factory=SegmentationConfig)
    crm: CrmConfig = Field(default_factory=CrmConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    lists: ListsConfig = Field(default_factory=ListsConfig)

    @model_validator(mode="after")
    def _listed_interests_exist(self) -> Config:
        tags = {rule.tag for rule in self.segmentation.interests}
        unknown = [t for t in self.lists.interests if t not in tags]
        if unknown:
            raise ValueError(
                f"lists.interests names tags no [[segmentation.interests]] rule gives: "
                f"{', '.join(unknown)}"
            )
        return self


def _key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def _describe(error: dict[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown key"
    value = error.get("input")
    if error["type"] not in ("missing",) and not isinstance(value, dict | list):
        message += f" (got {value!r})"
    return message


def load_config(path: Path | None) -> Config:
    """Read and validate ``path``; ``None`` means every default."""
    if path is None:
        return Config()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = [f"{path}: {_key(tuple(e['loc']))}: {_describe(dict(e))}" for e in exc.errors()]
        raise ConfigError(problems[0], problems) from None
    if not config.state.path.is_absolute():
        # A relative state path is taken relative to the config file, not the cwd of cron.
        config.state.path = (path.parent / config.state.path).resolve()
    return config

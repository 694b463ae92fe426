"""The crmseg config file: TOML, validated by pydantic.

Secrets never live here (they come from environment variables). Every problem
in a file is reported at once, each as one line naming the file, the TOML key
and what is allowed.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connectors.errors import ConfigError
from connectors.settings import HUBSPOT_TIERS, CrmSettings, HubSpotSettings, SalesforceSettings
from segmentation.config import TAG_VALUE_PATTERN, SegmentationConfig
from sync.config_problems import describe_error, strict_problems, toml_key
from sync.fields import ABC_CLASSES, ABC_TRENDS, LIFECYCLES, QUALITY_ISSUES, RFM_SEGMENTS

#: A path in the config file, ``~`` expanded to the user's home.
HomePath = Annotated[Path, AfterValidator(lambda path: path.expanduser())]

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
    """``[crm]``: which CRM, and how hard crmseg may use its API.

    The connectors' knobs and their defaults are defined in :mod:`connectors.settings`;
    the keys here take their defaults from there (``sync.connect`` maps them back).
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["hubspot", "salesforce"] = "hubspot"
    #: HubSpot subscription tier: sets the 10-second request budget.
    tier: Literal["free", "starter", "professional", "enterprise"] = "professional"
    #: Overrides the tier's budget (e.g. 250 with the API limit increase pack).
    requests_per_10s: int | None = Field(default=None, ge=1, le=1000)
    #: Requests in flight at once while writing (all within the budget).
    concurrency: int = Field(default=CrmSettings.concurrency, ge=1, le=16)
    #: Share of the daily API allowance left untouched for the account's other
    #: integrations (default: 5 % on HubSpot, 20 % on Salesforce).
    daily_reserve: float | None = Field(default=None, ge=0, lt=1)
    #: HubSpot: deal stages (internal ids) that mean "won" (Salesforce uses IsWon).
    won_stages: list[str] = Field(default_factory=lambda: ["closedwon"], min_length=1)
    #: The deal field holding the amount (default: HubSpot ``amount_in_home_currency``; Salesforce
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
    api_version: str = Field(default=SalesforceSettings.api_version, pattern=r"^[0-9]{2,3}\.0$")
    #: Salesforce: above this many changes a run writes through one Bulk API 2.0 job.
    bulk_ingest_threshold: int = Field(default=SalesforceSettings.bulk_ingest_threshold, ge=1)
    #: Salesforce: a full pull of more rows than this reads through Bulk API 2.0 query.
    bulk_query_threshold: int = Field(default=SalesforceSettings.bulk_query_threshold, ge=1)
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
    timeout_seconds: float = Field(default=CrmSettings.timeout_seconds, gt=0)
    #: HubSpot: do not re-read crmseg's own write window when one counting search
    #: shows only crmseg's writes in it (far fewer requests; an edit made between
    #: crmseg's pull and its write of the same record then waits for the full pull).
    count_own_write_window: bool = HubSpotSettings.count_own_write_window
    #: HubSpot: when at least this many of crmseg's own writes of one type are stamped
    #: since the cursor, the incremental pull checks them with one CRM export filtered
    #: to the records modified since then instead of search pages (exact; needs the
    #: crm.export scope, else a warning and search pages); 0 never.
    own_write_export_min: int = Field(default=1_000, ge=0)
    #: Salesforce: pull even when the integration user lacks "View All Data" (it then
    #: sees only the records shared with it; by default such a run is refused).
    partial_visibility_ok: bool = SalesforceSettings.partial_visibility_ok
    #: API base URL and CA bundle; only for proxies and the local sandbox.
    base_url: str | None = None
    ca_bundle: Path | None = None

    @field_validator("base_url")
    @classmethod
    def _a_url(cls, url: str | None) -> str | None:
        if url is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
            raise ValueError("must be a URL such as https://api.hubapi.com")
        return url

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

    path: HomePath = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("crmseg")) / "state.duckdb"
    )


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
    """``[lists]``: one CRM list per (tag family, value), e.g. ``lifecycle = ["at_risk"]``.

    Property and rule families (``[[segmentation.properties]]``, ``[[segmentation.rules]]``)
    are further keys, checked against the configured families by ``Config``."""

    model_config = ConfigDict(extra="allow")

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
        extra = [(family, v) for family, values in (self.model_extra or {}).items() for v in values]
        return [(family, v) for family in LISTABLE_FAMILIES for v in getattr(self, family)] + extra


class ReportConfig(BaseModel):
    """``[report]``: the HTML report of ``crmseg report``."""

    model_config = ConfigDict(extra="forbid")

    #: Where the report is written (relative paths: to the config file's folder).
    output: HomePath = Path("crmseg-report.html")
    #: At most this many rows per list of people (migration cells, hygiene work
    #: list...): keeps the file small; the page says when a list is cut.
    detail_limit: int = Field(default=200, ge=1, le=10_000)
    #: Whether the lists show e-mail addresses (off: ids and names only).
    include_emails: bool = True


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segmentation: SegmentationConfig = Field(default_factory=SegmentationConfig)
    crm: CrmConfig = Field(default_factory=CrmConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    lists: ListsConfig = Field(default_factory=ListsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)

    @model_validator(mode="after")
    def _listed_families_exist(self) -> Config:
        seg = self.segmentation
        allowed: dict[str, tuple[str, ...] | None] = {r.family: r.options for r in seg.rules}
        for prop in seg.properties:
            allowed[prop.family] = (
                None if prop.map is None else (*dict.fromkeys(prop.map.values()), "other")
            )
        for family, values in (self.lists.model_extra or {}).items():
            if family not in allowed:
                raise ValueError(
                    f"lists.{family}: no such tag family (lists take "
                    f"{', '.join((*LISTABLE_FAMILIES, *allowed))})"
                )
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"lists.{family}: must be a list of values")
            if len(set(values)) != len(values):
                raise ValueError(f"lists.{family}: values must not repeat")
            options = allowed[family]
            for value in values:
                if options is not None and value not in options:
                    raise ValueError(
                        f"lists.{family}: {value!r} is not one of {', '.join(options)}"
                    )
                if options is None and not re.fullmatch(TAG_VALUE_PATTERN, value):
                    raise ValueError(f"lists.{family}: {value!r} is not a valid tag")
        return self

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


# -- settings that do not apply -------------------------------------------------------

#: ``[crm]`` keys that only mean something for one CRM type.
CRM_ONLY: dict[str, tuple[str, ...]] = {
    "salesforce": (
        "instance_url",
        "auth",
        "client_id",
        "username",
        "api_version",
        "bulk_ingest_threshold",
        "bulk_query_threshold",
    ),
    "hubspot": ("tier", "requests_per_10s", "won_stages"),
}
RFM_EDGES = ("rfm_r_edges", "rfm_f_edges", "rfm_m_edges")


def inapplicable(config: Config) -> list[str]:
    """Keys set in the file that the rest of the file makes meaningless."""
    problems = []
    crm = config.crm
    for crm_type, keys in CRM_ONLY.items():
        if crm.type != crm_type:
            for key in keys:
                if key in crm.model_fields_set:
                    problems.append(
                        f'crm.{key}: applies only to type = "{crm_type}" '
                        f'(this config has type = "{crm.type}"); remove it'
                    )
    seg = config.segmentation
    if seg.rfm_method == "quantile":
        for key in RFM_EDGES:
            if key in seg.model_fields_set and getattr(seg, key) is not None:
                problems.append(
                    f'segmentation.{key}: applies only to rfm_method = "thresholds" '
                    "(quantile scoring has no edges); remove it or set rfm_method"
                )
    return problems


#: Read when no ``--config`` is given and it exists in the working directory.
DEFAULT_CONFIG = Path("crmseg.toml")


def find_config(path: Path | None) -> Path | None:
    """``--config`` if given, else ``./crmseg.toml`` if it exists, else ``None``."""
    if path is not None:
        return path
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def default_state_path(config_path: Path | None) -> Path:
    """Without ``[state] path``: one file per config (its name and a digest of where it
    is), so two configs never share a mirror by accident."""
    folder = Path(platformdirs.user_data_dir("crmseg"))
    if config_path is None:
        return folder / "state.duckdb"
    where = str(config_path.resolve())
    digest = hashlib.sha256(where.encode("utf-8")).hexdigest()[:8]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", config_path.stem) or "config"
    return folder / f"{stem}-{digest}.duckdb"


def load_config(path: Path | None) -> Config:
    """Read and validate ``path``; ``None`` means every default."""
    if path is None:
        return Config()
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory; --config takes a TOML file")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: the file is not UTF-8 text") from None
    strict = [f"{path}: {p}" for p in strict_problems(Config, data)]
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{path}: {toml_key(tuple(e['loc']))}: {describe_error(dict(e))}" for e in exc.errors()
        ]
        # a strict-type line says more than pydantic's for the same key
        keys = {p.split(": ")[1] for p in strict}
        problems = strict + [p for p in problems if p.split(": ")[1] not in keys]
        raise ConfigError(problems[0], problems) from None
    bundle = config.crm.ca_bundle
    if bundle is not None:
        bundle = config.crm.ca_bundle = (path.parent / bundle.expanduser()).resolve()
    missing = (
        [f"{path}: crm.ca_bundle: {bundle} is not a file (a PEM bundle of CA certificates)"]
        if bundle is not None and not bundle.is_file()
        else []
    )
    problems = strict + [f"{path}: {p}" for p in inapplicable(config)] + missing
    if problems:
        raise ConfigError(problems[0], problems)
    if "path" not in config.state.model_fields_set:
        config.state.path = default_state_path(path)
    elif not config.state.path.is_absolute():
        # A relative state path is taken relative to the config file, not the cwd of cron.
        config.state.path = (path.parent / config.state.path).resolve()
    if not config.report.output.is_absolute():
        config.report.output = (path.parent / config.report.output).resolve()
    return config

"""End to end: the same generated data as a CSV export, in the HubSpot sandbox and in the
Salesforce stand-in gives the same tags for every family, v2 families included.

The Salesforce stand-in's org is single-currency (it loads each amount as it is), so
HubSpot is read through ``amount`` and the CSV run rates every currency 1 for the three-way
comparison; a second comparison reads HubSpot's ``amount_in_home_currency`` against the
CSV converted at the portal's rates.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox.csv_export import write_csv_export
from connectors.sandbox.generator import generate
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.salesforce import SalesforceStandIn
from connectors.sandbox.vocabulary import EXCHANGE_RATES, HOME_CURRENCY
from segmentation import SegmentationConfig
from sync.cli import run_segmentation
from sync.config import Config, CrmConfig, StateConfig
from sync.connect import open_connector
from sync.engine import Engine, RunOptions
from sync.state import State

pytestmark = pytest.mark.e2e  # CSV and both stand-ins end to end

AS_OF = date(2026, 6, 30)
SEED, CONTACTS = 23, 80
CHECKS = [
    "duplicate_email",
    "invalid_email",
    "missing_address",
    "missing_country",
    "missing_email",
    "missing_name",
    "missing_salutation",
]
RULES = [
    {
        "family": "tier",
        "values": [
            {"value": "platinum", "abc": ["A"], "recency_max": 120},
            {"value": "gold", "abc": ["A", "B"]},
            {"value": "silver", "lifecycle": ["at_risk", "inactive", "repeat", "active", "new"]},
        ],
    },
    {
        "family": "fit",
        "values": [
            {"value": "big_ticket", "revenue_min": "30000", "recency_max": 365},
            {"value": "small_basket", "average_order_max": "20000"},
            {"value": "none", "revenue_max": "0"},
        ],
    },
]
#: The generator's channels, as each source holds them, mapped onto one set of values.
CHANNELS = {
    "web_form": "web",
    "cold_call": "phone",
    "partner": "referral",
    "referral": "referral",
    "import": "purchased",
}
LEAD_SOURCES = {
    "Web": "web",
    "Phone Inquiry": "phone",
    "Partner Referral": "referral",
    "PURCHASED LIST": "purchased",
}


def segmentation(
    industry: str, channel: str, channel_map: dict[str, str], rates: dict[str, str] | None
) -> SegmentationConfig:
    return SegmentationConfig.model_validate(
        {
            "quality_checks": CHECKS,
            "properties": [
                {"family": "industry", "company_property": industry},
                {"family": "channel", "contact_property": channel, "map": channel_map},
            ],
            "rules": RULES,
            "currency": HOME_CURRENCY,
            "currency_rates": rates,
            "min_segment_size": 5,
        }
    )


def _tags(con: Any) -> dict[str, dict[str, Any]]:
    cur = con.execute("SELECT * FROM seg_tags")
    names = [d[0] for d in cur.description]
    return {str(r[0]): dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _sync(config: Config, secret: str) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    with State(config.state.path) as state:
        engine = Engine(open_connector(config, token=secret), state, config)
        result = engine.run(RunOptions("sync", AS_OF))
        assert result.status == "ok", result.summary
        assert engine.last_report is not None
        # the run summary carries the size warnings too
        assert [(w["family"], w["value"]) for w in result.summary["warnings"]] == [
            (w.family, w.value) for w in engine.last_report.warnings
        ]
        return _tags(state.con), list(engine.last_report.warnings)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    write_csv_export(generate(seed=SEED, contacts=CONTACTS, as_of=AS_OF), folder)
    return folder


def _csv_tags(
    folder: Path, rates: dict[str, str]
) -> tuple[dict[str, dict[str, Any]], tuple, dict[str, Any]]:
    """The tags, the size warnings and the summary of ``crmseg segment`` on ``folder``."""
    config = segmentation("industry", "channel", CHANNELS, rates)
    con, summary = run_segmentation(folder, config, AS_OF)
    return _tags(con), tuple((w["family"], w["value"]) for w in summary["warnings"]), summary


@pytest.fixture(scope="module")
def at_rate_one(export: Path) -> tuple[dict[str, dict[str, Any]], tuple, dict[str, Any]]:
    """The export segmented with every currency at rate 1: the tests below only read it."""
    return _csv_tags(export, {code: "1" for code in EXCHANGE_RATES})


@pytest.mark.e2e  # syncs both stand-ins
def test_csv_hubspot_and_salesforce_give_the_same_tags_for_every_family(at_rate_one, tmp_path):
    expected, expected_warnings, _ = at_rate_one
    families = (
        "abc",
        "abc_trend",
        "rfm_score",
        "rfm_segment",
        "lifecycle",
        "data_quality",
        "industry",
        "channel",
        "tier",
        "fit",
    )
    # the data exercises every new family (else the comparison proves little)
    for family in ("industry", "channel", "tier", "fit"):
        assert len({t[family] for t in expected.values()} - {None}) >= 2, family
    assert any("missing_address" in (t["data_quality"] or "") for t in expected.values())
    assert any("missing_salutation" in (t["data_quality"] or "") for t in expected.values())

    with HubSpotStandIn(
        seed=SEED, contacts=CONTACTS, as_of=AS_OF, limits=LimitConfig(enabled=False)
    ) as hub:
        config = Config(
            segmentation=segmentation("industry", "origin_channel", CHANNELS, None),
            crm=CrmConfig(
                base_url=hub.base_url, ca_bundle=Path(hub.ca_path), amount_property="amount"
            ),
            state=StateConfig(path=tmp_path / "hubspot.duckdb"),
        )
        hubspot, hubspot_warnings = _sync(config, hub.token)
    with SalesforceStandIn(seed=SEED, contacts=CONTACTS, as_of=AS_OF) as org:
        config = Config(
            segmentation=segmentation("Industry", "LeadSource", LEAD_SOURCES, None),
            crm=CrmConfig(
                type="salesforce",
                instance_url=org.instance_url,
                client_id=org.credentials.consumer_key,
                ca_bundle=Path(org.ca_path),
            ),
            state=StateConfig(path=tmp_path / "salesforce.duckdb"),
        )
        salesforce, salesforce_warnings = _sync(config, org.credentials.consumer_secret)
        by_generator_id = {sf: str(gen) for gen, sf in org.ids["contact"].items()}
    salesforce = {by_generator_id[k]: v for k, v in salesforce.items()}

    assert set(hubspot) == set(salesforce) == set(expected)
    for cid, want in expected.items():
        for family in families:
            if family == "channel":
                continue  # compared below: Salesforce's LeadSource is coarser
            assert hubspot[cid][family] == want[family], (cid, family)
            assert salesforce[cid][family] == want[family], (cid, family)
        assert hubspot[cid]["channel"] == want["channel"], cid
        # LeadSource "Other" also holds trade_fair and newsletter, which the map sends to other
        assert salesforce[cid]["channel"] == want["channel"], cid
    hub_pairs = tuple((w.family, w.value) for w in hubspot_warnings)
    assert hub_pairs == expected_warnings
    assert tuple((w.family, w.value) for w in salesforce_warnings) == expected_warnings


@pytest.mark.e2e  # syncs the HubSpot stand-in
def test_hubspot_amount_in_home_currency_equals_the_csv_at_the_portal_rates(
    export, at_rate_one, tmp_path
):
    expected, _, converted = _csv_tags(export, dict(EXCHANGE_RATES))
    plain = at_rate_one[2]
    assert converted["abc"] != plain["abc"], "the rates should matter for this data"
    with HubSpotStandIn(
        seed=SEED, contacts=CONTACTS, as_of=AS_OF, limits=LimitConfig(enabled=False)
    ) as hub:
        deal = hub.get("deals", 1) or {}
        rate = Decimal(EXCHANGE_RATES[deal["deal_currency_code"]])
        assert Decimal(deal["amount_in_home_currency"]) == Decimal(deal["amount"]) * rate
        config = Config(
            segmentation=segmentation("industry", "origin_channel", CHANNELS, None),
            crm=CrmConfig(base_url=hub.base_url, ca_bundle=Path(hub.ca_path)),
            state=StateConfig(path=tmp_path / "hubspot.duckdb"),
        )
        hubspot, _ = _sync(config, hub.token)
    for cid, want in expected.items():
        assert {k: hubspot[cid][k] for k in want} == want, cid


def test_hubspot_sandbox_names_its_company_currency_and_rates():
    import requests

    with HubSpotStandIn(seed=SEED, contacts=5, as_of=AS_OF) as hub:
        auth = {"Authorization": f"Bearer {hub.token}"}

        def get(path: str) -> Any:
            return requests.get(
                hub.base_url + path, headers=auth, verify=hub.ca_path, timeout=10
            ).json()

        assert get("/account-info/v3/details")["companyCurrency"] == HOME_CURRENCY
        assert get("/settings/v3/currencies/company-currency") == {"currencyCode": "EUR"}
        rates = {
            r["fromCurrencyCode"]: r["conversionRate"]
            for r in get("/settings/v3/currencies/exchange-rates")["results"]
        }
        assert rates == {k: v for k, v in EXCHANGE_RATES.items() if k != HOME_CURRENCY}
        # a deal created or changed gets its converted amount (a read-only property)
        deal = hub.create("deals", {"amount": "10.05", "deal_currency_code": "CHF"})
        assert hub.get("deals", deal)["amount_in_home_currency"] == "10.7535"
        hub.update("deals", deal, {"deal_currency_code": "EUR"})
        assert hub.get("deals", deal)["amount_in_home_currency"] == "10.05"

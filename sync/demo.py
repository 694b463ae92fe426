"""``crmseg demo``: a whole sync against a local CRM sandbox (HubSpot by default,
Salesforce with ``--crm salesforce``).

The HubSpot sandbox holds the same generated data as the shipped sample export
(seed 7, 300 contacts, 900 deals, as of 2026-06-30), so its segments equal
``crmseg segment`` on that export; the Salesforce stand-in seeds its own org
from the same generator with its default number of opportunities. The demo
provisions the crmseg fields, syncs, syncs again (which must write nothing) and
reports segments and API calls. Nothing leaves the machine: the sandboxes
listen on 127.0.0.1 with their own CA.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from connectors.sandbox.vocabulary import EXCHANGE_RATES, HOME_CURRENCY
from segmentation import InterestRule, SegmentationConfig
from sync.config import Config, CrmConfig, ListsConfig, StateConfig
from sync.connect import open_connector
from sync.engine import Engine, Reporter, RunOptions
from sync.state import State
from sync.summary import summarize

#: The date the shipped sample data was generated for; the demo segments as of it
#: so its figures are the same on every machine and every day.
SAMPLE_AS_OF = date(2026, 6, 30)
SAMPLE_SEED = 7
SAMPLE_CONTACTS = 300
SAMPLE_DEALS = 900

DEMO_INTERESTS = [
    InterestRule(tag="security", contact_property="topics", any_of=["security"]),
    InterestRule(tag="cloud", contact_property="topics", any_of=["cloud"]),
    InterestRule(tag="learning", contact_property="topics", any_of=["training"]),
    InterestRule(tag="learning", deal_property="product_line", any_of=["training"]),
    InterestRule(tag="enterprise", deal_property="product_line", any_of=["enterprise"]),
]
#: The Salesforce sandbox has no topics or product lines; its contacts carry a LeadSource.
SALESFORCE_DEMO_INTERESTS = [
    InterestRule(tag="partner", contact_property="LeadSource", any_of=["Partner"]),
    InterestRule(tag="web", contact_property="LeadSource", any_of=["Web"]),
]
#: The sample's deals are in EUR, USD, GBP and CHF: revenue is reported in EUR, the
#: sandbox portal's company currency, at the portal's own rates.
DEMO_CURRENCY = HOME_CURRENCY
DEMO_RATES = dict(EXCHANGE_RATES)


def demo_segmentation(interests: list[InterestRule]) -> SegmentationConfig:
    """The demo's ``[segmentation]``: its interests, one reporting currency."""
    return SegmentationConfig.model_validate(
        {"interests": interests, "currency": DEMO_CURRENCY, "currency_rates": DEMO_RATES}
    )


DEMO_LISTS = ListsConfig(lifecycle=["at_risk"], rfm_segment=["champion", "cannot_lose"])


def run_demo(
    reporter: Reporter | None = None, crm: str = "hubspot", report: Path | None = None
) -> dict[str, Any]:
    """Two syncs against a fresh sandbox of ``crm``; returns both run summaries and the
    segments. With ``report``, also writes the HTML report of the synced data there."""
    # Imported here: the sandboxes (TLS, both CRM clients) would cost every other
    # command a fifth of a second at start-up.
    from connectors.sandbox.hubspot import HubSpotStandIn
    from connectors.sandbox.salesforce import SalesforceStandIn

    with tempfile.TemporaryDirectory(prefix="crmseg-demo-") as tmp:
        state_path = Path(tmp) / "state.duckdb"
        if crm == "salesforce":
            with SalesforceStandIn(
                seed=SAMPLE_SEED, contacts=SAMPLE_CONTACTS, as_of=SAMPLE_AS_OF
            ) as org:
                config = Config(
                    segmentation=demo_segmentation(SALESFORCE_DEMO_INTERESTS),
                    crm=CrmConfig(
                        type="salesforce",
                        instance_url=org.instance_url,
                        client_id=org.credentials.consumer_key,
                        ca_bundle=Path(org.ca_path),
                    ),
                    state=StateConfig(path=state_path),
                    lists=DEMO_LISTS,
                )
                return _two_syncs(config, org.credentials.consumer_secret, reporter, report)
        with HubSpotStandIn(
            seed=SAMPLE_SEED, contacts=SAMPLE_CONTACTS, deals=SAMPLE_DEALS, as_of=SAMPLE_AS_OF
        ) as hub:
            config = Config(
                segmentation=demo_segmentation(DEMO_INTERESTS),
                crm=CrmConfig(base_url=hub.base_url, ca_bundle=Path(hub.ca_path)),
                state=StateConfig(path=state_path),
                lists=DEMO_LISTS,
            )
            return _two_syncs(config, hub.token, reporter, report)


def _two_syncs(
    config: Config, secret: str, reporter: Reporter | None, report: Path | None = None
) -> dict[str, Any]:
    runs = []
    with State(config.state.path) as state:
        for _ in range(2):
            engine = Engine(open_connector(config, token=secret), state, config, reporter)
            runs.append(engine.run(RunOptions("sync", SAMPLE_AS_OF)).summary)
        assert engine.last_report is not None
        segments = summarize(state.con, engine.last_report)
        written = _write_report(state, config, report) if report is not None else None
    return {
        "crm": config.crm.type,
        "first_sync": runs[0],
        "second_sync": runs[1],
        "segments": segments,
        "report": str(written) if written else None,
    }


def _write_report(state: State, config: Config, out: Path) -> Path:
    from sync.report import report_from_state
    from sync.report.render import render, write

    return write(render(report_from_state(state, config, SAMPLE_AS_OF)), out)

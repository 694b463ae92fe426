"""``crmseg demo``: a whole sync against the local HubSpot sandbox.

Starts the sandbox with the same generated data as the shipped sample export
(seed 7, 300 contacts, as of 2026-06-30), provisions the crmseg fields, syncs,
syncs again (which must write nothing) and reports segments and API calls.
Nothing leaves the machine: the sandbox listens on 127.0.0.1 with its own CA.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from connectors.sandbox.hubspot import HubSpotSandbox
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


def demo_config(sandbox: HubSpotSandbox, state_path: Path) -> Config:
    return Config(
        segmentation=SegmentationConfig(interests=DEMO_INTERESTS),
        crm=CrmConfig(base_url=sandbox.base_url, ca_bundle=Path(sandbox.ca_path)),
        state=StateConfig(path=state_path),
        lists=ListsConfig(lifecycle=["at_risk"], rfm_segment=["champion", "cannot_lose"]),
    )


def run_demo(reporter: Reporter | None = None) -> dict[str, Any]:
    """Two syncs against a fresh sandbox; returns both run summaries and the segments."""
    with (
        tempfile.TemporaryDirectory(prefix="crmseg-demo-") as tmp,
        HubSpotSandbox(
            seed=SAMPLE_SEED,
            contacts=SAMPLE_CONTACTS,
            deals=SAMPLE_DEALS,
            as_of=SAMPLE_AS_OF,
        ) as sandbox,
    ):
        config = demo_config(sandbox, Path(tmp) / "state.duckdb")
        runs = []
        with State(config.state.path) as state:
            for _ in range(2):
                connector = open_connector(config, token=sandbox.token)
                engine = Engine(connector, state, config, reporter)
                result = engine.run(RunOptions("sync", SAMPLE_AS_OF))
                runs.append(result.summary)
            segments = summarize(state.con, engine.last_report)  # type: ignore[arg-type]
        return {"first_sync": runs[0], "second_sync": runs[1], "segments": segments}

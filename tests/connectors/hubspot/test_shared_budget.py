"""Object types pulled at once share the one request budget: no stream gets a limiter of
its own, so together they never exceed HubSpot's per-app window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.hubspot import HubSpotConnector
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from sync.prefetch import Prefetcher

from .conftest import transport_for

LIMIT, WINDOW = 2, 1.0


@pytest.mark.e2e  # real time on both sides: ten requests at two per second take ~4.5 s
def test_concurrent_streams_stay_inside_one_window_without_a_429() -> None:
    limits = LimitConfig(enabled=True, ten_secondly=LIMIT, window_seconds=WINDOW)
    with HubSpotStandIn(seed=7, contacts=20, limits=limits) as hs:
        for i in range(450):
            hs.create("contacts", {"email": f"extra{i}@mail.test"})
            hs.create("companies", {"name": f"Extra {i}"})
        # one attempt per call: a 429 would end the pull instead of being waited out
        connector = HubSpotConnector(
            transport_for(
                hs, attempts=1, ten_secondly_limit=LIMIT, window_seconds=WINDOW, margin_seconds=1
            )
        )
        hs.log.clear()
        pre = Prefetcher(connector)
        pre.start("contact", None, [])
        pre.start("company", None, [])

        def none() -> Iterator[object]:
            return iter(())

        contacts = [r.id for p in pre.pages("contact", None, [], none) for r in p.records]  # type: ignore[arg-type]
        companies = [r.id for p in pre.pages("company", None, [], none) for r in p.records]  # type: ignore[arg-type]
        pre.close()

        assert (len(contacts), len(companies)) == (470, 450 + len(hs.dataset.companies))  # type: ignore[union-attr]
        assert hs.log.count(status=429) == 0
        arrivals = sorted(e.at for e in hs.log.entries)
        assert len(arrivals) == 10  # 5 list pages per type, all in the standard bucket
        busiest = max(sum(1 for t in arrivals if a <= t < a + WINDOW) for a in arrivals)
        assert busiest <= LIMIT
        assert connector.transport.limiters["standard"].waited_total > 0  # the streams waited

"""Notes §0 items not covered elsewhere: request headers, API version in paths, aborted jobs."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError

from connectors.sandbox._server import Request
from connectors.sandbox.salesforce.app import SalesforceStandIn


def test_rest_calls_arrive_with_bearer_json_content_type_and_pretty_print(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    seen: list[Request] = []
    sf_server.faults.add_hook("spy", lambda req: seen.append(req))  # type: ignore[func-returns-value]
    sf.query("SELECT Id FROM Contact LIMIT 1")
    sf.Contact.describe()
    sf.restful("limits/")
    assert len(seen) == 3
    for req in seen:
        assert req.header("authorization", "").startswith("Bearer ")
        assert req.header("content-type") == "application/json"
        assert req.header("x-prettyprint") == "1"


def test_other_api_versions_route_under_their_own_prefix(sf_server: SalesforceStandIn) -> None:
    sf = sf_server.client(version="60.0")
    page = sf.query("SELECT Id FROM Contact LIMIT 1")
    assert page["records"][0]["attributes"]["url"].startswith("/services/data/v60.0/")
    assert sf_server.log.entries[-1].path == "/services/data/v60.0/query/"


def test_failed_close_aborts_the_job_and_keeps_its_rows_as_unprocessed(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    sf_server.faults.error_burst(1, status=503, path=r"/jobs/ingest/750\w{15}$")
    with pytest.raises(SalesforceGeneralError):
        sf.bulk2.Contact.insert(records=[{"LastName": "Never"}], wait=0.01)
    put = next(e for e in sf_server.log.entries if e.method == "PUT")
    job_id = put.path.split("/")[-2]
    wire = [(e.method, e.status) for e in sf_server.log.entries if job_id in e.path]
    assert wire == [("PUT", 201), ("PATCH", 503), ("GET", 200), ("PATCH", 200)]  # last = abort
    rows = list(csv.DictReader(io.StringIO(sf.bulk2.Contact.get_unprocessed_records(job_id))))
    assert rows == [{"LastName": "Never"}]
    assert sf.query("SELECT Id FROM Contact WHERE LastName = 'Never'")["totalSize"] == 0

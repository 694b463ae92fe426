"""The Salesforce connector against the Salesforce stand-in (simple-salesforce, HTTPS on loopback)."""

from __future__ import annotations

from datetime import datetime

from connectors.base import ObjectType
from connectors.salesforce import SalesforceConnector, SalesforceSession, SalesforceSettings
from connectors.sandbox.salesforce import SalesforceStandIn
from tests.fakeclock import FakeClock

from . import BatchFault, Create, Target

SOBJECT = {"contact": "Contact", "company": "Account", "deal": "Opportunity"}
NAME = {"contact": "FirstName", "company": "Name", "deal": "Name"}
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
WRITE_PATH = r"/composite/sobjects"
STATUS = {"permission": 403, "server": 503, "rate": 429}
CREATES = {"field": r"/tooling/sobjects/CustomField/?$", "list": r"/sobjects/Campaign/?$"}


class SalesforceTarget(Target):
    name = "salesforce"

    def __init__(self) -> None:
        # 210 contacts: more than one page of 200
        self.sf = SalesforceStandIn(seed=5, contacts=210).start()
        settings = SalesforceSettings(
            instance_url=self.sf.instance_url,
            client_id=self.sf.credentials.consumer_key,
            ca_bundle=self.sf.ca_path,
            timeout_seconds=10,
            attempts=3,
            max_wait=0.01,
            query_page_size=200,
        )
        # Backoffs, Retry-After and job polls wait on a fake clock, none is spent.
        self.clock = FakeClock()
        self.session = SalesforceSession(
            settings, self.sf.credentials.consumer_secret, clock=self.clock
        )
        self.connector = SalesforceConnector(self.session)

    def ids(self, object_type: ObjectType) -> set[str]:
        return {str(r["Id"]) for r in self.sf.org.live(SOBJECT[object_type])}

    def now(self) -> datetime:
        return self.sf.org.now()

    def new_contact(self) -> str:
        return self.sf.insert("Contact", LastName="Contract")

    def touch(self, object_type: ObjectType, record_id: str) -> None:
        self.sf.update(record_id, **{NAME[object_type]: "Touched"})

    def delete(self, object_type: ObjectType, record_id: str) -> None:
        self.sf.delete(record_id)

    def unknown_id(self) -> str:
        return "003000000000000AAA"

    def value(self, record_id: str, field: str) -> str | None:
        found = self.sf.org.find(record_id)
        assert found is not None
        raw = found[1].get(f"{field}__c")
        return ";".join(sorted(str(raw).split(";"))) if raw else None

    def options(self, object_type: ObjectType, field: str) -> tuple[str, ...] | None:
        fd = self.sf.org.objects[SOBJECT[object_type]].field(f"{field}__c")
        return None if fd is None else tuple(fd.picklist or ())

    def _members(self, list_id: str) -> list[dict[str, object]]:
        return [m for m in self.sf.org.live("CampaignMember") if m["CampaignId"] == list_id]

    def members(self, list_id: str) -> set[str]:
        return {str(m["ContactId"]) for m in self._members(list_id)}

    def lists_named(self, name: str) -> int:
        return sum(1 for c in self.sf.org.live("Campaign") if c["Name"] == name)

    def tamper_with_list(self, list_id: str) -> None:
        """An admin removes a member from the campaign by hand."""
        member = min(self._members(list_id), key=lambda m: str(m["Id"]))
        self.sf.delete(str(member["Id"]))

    def write_requests(self) -> int:
        return sum(
            1
            for e in self.sf.log.entries
            if e.method in WRITE_METHODS and not e.path.startswith("/services/oauth2/")
        )

    def reject(self, record_id: str) -> None:
        self.sf.lock_rows(record_id)

    def refuse_next_batch(self, fault: BatchFault) -> None:
        self.sf.faults.error_burst(100, STATUS[fault], path=WRITE_PATH)

    def lose_next_answer(self, create: Create) -> None:
        self.sf.lose_responses(1, CREATES[create], "POST")

    def lost(self) -> int:
        return len(self.sf.lost)

    def heal(self) -> None:
        self.sf.reset_faults()

    def close(self) -> None:
        self.session.close()
        self.sf.stop()

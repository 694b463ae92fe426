"""``SalesforceConnector``: crmseg's :class:`~connectors.base.Connector` for Salesforce.

Object types map to sObjects: contact -> Contact, company -> Account, deal ->
Opportunity (contacts from OpportunityContactRole). Pulls go through
:mod:`connectors.salesforce.pull`; tag fields, writes and segment lists are
delegated to :mod:`connectors.salesforce.fields`, :mod:`connectors.salesforce.writes`
and :mod:`connectors.salesforce.lists` (imported when first used). All HTTP
passes the connector's one :class:`SalesforceSession`, which is thread-safe, so
:meth:`~connectors.base.Connector.write` may call :meth:`write_batch` from
``concurrency`` threads at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from connectors.base import (
    Connector,
    Cursor,
    FieldSpec,
    ListSpec,
    ListState,
    ObjectType,
    Page,
    TagUpdate,
    WriteResult,
)
from connectors.salesforce.pull import Puller
from connectors.salesforce.records import SOBJECT, to_api_name
from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.settings import SalesforceSettings

__all__ = ["SalesforceConnector", "sobject"]


def sobject(object_type: ObjectType) -> str:
    """crmseg object type -> sObject name (``company`` -> ``Account``)."""
    return SOBJECT[object_type]


class SalesforceConnector(Connector):
    name = "salesforce"
    #: sObject Collections take 200 records per request.
    max_batch_size = 200
    #: Campaign membership is kept in step by crmseg (no filter-evaluated lists).
    lists_need_members = True
    #: The engine pulls contacts, accounts and opportunities at once (``sync.prefetch``);
    #: the puller keeps their requests within ``[crm] concurrency``.
    concurrent_pulls = True

    def __init__(self, session: SalesforceSession) -> None:
        self.session = session
        self.settings = session.settings
        self.concurrency = session.settings.concurrency
        self.puller = Puller(session)

    @classmethod
    def from_env(cls, settings: SalesforceSettings, **kw: Any) -> SalesforceConnector:
        """Connector with secrets from ``SALESFORCE_*`` (ConfigError naming what is missing)."""
        return cls(SalesforceSession.from_env(settings, **kw))

    def __repr__(self) -> str:
        return f"SalesforceConnector({self.session!r})"

    # -- Connector hooks --------------------------------------------------------------
    def pull(
        self,
        object_type: ObjectType,
        since: Cursor | None,
        properties: Sequence[str] = (),
    ) -> Iterator[Page[Any]]:
        return self.puller.pull(object_type, since, properties)

    def ensure_fields(self, object_type: ObjectType, fields: Sequence[FieldSpec]) -> list[str]:
        from connectors.salesforce.fields import ensure_fields  # type: ignore[import-not-found,unused-ignore]

        return ensure_fields(self.session, object_type, fields)  # type: ignore[no-any-return,unused-ignore]

    def write_batch(self, updates: Sequence[TagUpdate]) -> list[WriteResult]:
        from connectors.salesforce.writes import write_batch  # type: ignore[import-not-found,unused-ignore]

        return write_batch(self.session, updates)  # type: ignore[no-any-return,unused-ignore]

    def write_bulk(self, updates: Sequence[TagUpdate]) -> list[WriteResult] | None:
        from connectors.salesforce.writes import write_bulk  # type: ignore[import-not-found,unused-ignore]

        return write_bulk(self.session, updates)  # type: ignore[no-any-return,unused-ignore]

    def ensure_lists(self, specs: Sequence[ListSpec]) -> list[ListState]:
        from connectors.salesforce.lists import ensure_lists  # type: ignore[import-not-found,unused-ignore]

        return ensure_lists(self.session, specs)  # type: ignore[no-any-return,unused-ignore]

    def snapshot_list(self, name: str, object_type: ObjectType, record_ids: Sequence[str]) -> str:
        from connectors.salesforce.lists import snapshot_list  # type: ignore[import-not-found,unused-ignore]

        return snapshot_list(self.session, name, object_type, record_ids)  # type: ignore[no-any-return,unused-ignore]

    def plan_fields(self, object_type: ObjectType, fields: Sequence[FieldSpec]) -> list[str]:
        from connectors.salesforce.fields import plan_fields

        return plan_fields(self.session, object_type, fields)

    def plan_lists(self, specs: Sequence[ListSpec]) -> list[str]:
        from connectors.salesforce.lists import plan_lists

        return plan_lists(self.session, specs)

    def missing_properties(self, object_type: ObjectType, names: Sequence[str]) -> list[str]:
        have = self.puller.describe_fields(SOBJECT[object_type])
        return [n for n in names if to_api_name(n).lower() not in have]

    def account_id(self) -> str:
        """``salesforce org <organization id>``, from the token answer's identity URL."""
        return f"salesforce org {self.session.org_id}"

    # -- observability ----------------------------------------------------------------
    def api_calls(self) -> dict[str, int]:
        """HTTP attempts per endpoint name so far (retries and token requests included)."""
        return self.session.calls_snapshot()

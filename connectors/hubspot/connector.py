"""``HubSpotConnector``: crmseg's :class:`~connectors.base.Connector` for HubSpot.

Pulls go through :mod:`connectors.hubspot.pull`; tag fields, batch writes and
segment lists are delegated to :mod:`connectors.hubspot.fields`,
:mod:`connectors.hubspot.writes` and :mod:`connectors.hubspot.lists` (imported
when first used). All HTTP passes the connector's one :class:`Transport`, which
is thread-safe, so :meth:`~connectors.base.Connector.write` may call
:meth:`write_batch` from ``concurrency`` threads at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
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
from connectors.errors import CrmError
from connectors.hubspot.exports import Exporter
from connectors.hubspot.imports import Importer
from connectors.hubspot.pull import Puller
from connectors.hubspot.records import PLURAL, RecordMapper
from connectors.hubspot.transport import HubSpotSettings, Transport

__all__ = ["HubSpotConnector", "plural", "singular"]

_SINGULAR: dict[str, ObjectType] = {v: k for k, v in PLURAL.items()}

#: How long a property list read for a check is reused: long enough for one run's
#: preflight and a quick pull, short enough that a long-lived connector reads again.
PROPERTY_LIST_REUSE_SECONDS = 300.0


def plural(object_type: ObjectType) -> str:
    """crmseg object type -> HubSpot's plural name (``contact`` -> ``contacts``)."""
    return PLURAL[object_type]


def singular(hubspot_type: str) -> ObjectType:
    """HubSpot's plural name -> crmseg object type (``companies`` -> ``company``)."""
    try:
        return _SINGULAR[hubspot_type.lower()]
    except KeyError:
        raise ValueError(f"unknown HubSpot object type {hubspot_type!r}") from None


class HubSpotConnector(Connector):
    name = "hubspot"
    max_batch_size = 100
    #: contacts, companies and deals may be pulled at once (one limiter for all)
    concurrent_pulls = True

    def __init__(
        self,
        transport: Transport,
        *,
        won_stages: Iterable[str] = frozenset({"closedwon"}),
        amount_property: str = "amount",
        export_threshold: int = 0,
        import_threshold: int = 0,
        own_write_export_min: int = 0,
    ) -> None:
        self.transport = transport
        # The request budget is the transport's limiter's (``HubSpotSettings``).
        self.concurrency = transport.settings.concurrency
        self.mapper = RecordMapper(won_stages=won_stages, amount_property=amount_property)
        self.puller = Puller(transport, self.mapper)
        # above these sizes (0: never) full pulls read exports and writes go through imports
        self.exporter = Exporter(transport, self.puller, export_threshold)
        self.importer = Importer(transport, import_threshold, self.write_batch)
        # at least this many own writes since the cursor (0: never) are checked by one
        # filtered export instead of search pages (connectors.hubspot.own_writes)
        self.puller.exporter, self.puller.export_min = self.exporter, own_write_export_min
        #: Property lists read for read-only checks (the preflight's), per object type,
        #: with the clock's time of the read; see :meth:`_property_list`.
        self._property_lists: dict[ObjectType, tuple[float, dict[str, Any]]] = {}

    @classmethod
    def from_env(cls, settings: HubSpotSettings | None = None, **kw: Any) -> HubSpotConnector:
        """Connector with the token from ``HUBSPOT_ACCESS_TOKEN`` (ConfigError if unset)."""
        return cls(Transport.from_env(settings), **kw)

    def __repr__(self) -> str:
        return f"HubSpotConnector({self.transport!r})"

    # -- Connector hooks --------------------------------------------------------------
    def pull(
        self,
        object_type: ObjectType,
        since: Cursor | None,
        properties: Sequence[str] = (),
    ) -> Iterator[Page[Any]]:
        self.importer.settle()  # an earlier run's import may still be writing
        if since is None:
            exported = self.exporter.pull(object_type, properties)
        else:
            exported = self.exporter.pull_changed(object_type, since, properties)
        if exported is not None:
            return exported
        return self.puller.pull(object_type, since, properties)

    def pull_columns(
        self,
        object_type: ObjectType,
        since: Cursor | None,
        properties: Sequence[str] = (),
    ) -> Iterator[Any]:
        """:meth:`pull`, with a full pull's export handed over as one column batch."""
        if since is not None:
            return self.pull(object_type, since, properties)
        self.importer.settle()
        exported = self.exporter.pull(object_type, properties, columns=True)
        if exported is not None:
            return exported
        return self.puller.pull(object_type, since, properties)

    def ensure_fields(self, object_type: ObjectType, fields: Sequence[FieldSpec]) -> list[str]:
        """The preflight's property list (if recent) stands in for provisioning's read
        once, and only to find that nothing needs writing; what would change is decided
        on a list read now (:func:`connectors.hubspot.fields.ensure_fields`)."""
        from connectors.hubspot.fields import ensure_fields  # type: ignore[import-not-found,unused-ignore]

        seen = self._recent_property_list(object_type)
        self._property_lists.pop(object_type, None)
        return ensure_fields(self.transport, object_type, fields, seen=seen)  # type: ignore[no-any-return,unused-ignore]

    def write_batch(self, updates: Sequence[TagUpdate]) -> list[WriteResult]:
        from connectors.hubspot.writes import write_batch  # type: ignore[import-not-found,unused-ignore]

        return write_batch(self.transport, updates)  # type: ignore[no-any-return,unused-ignore]

    def write_bulk(self, updates: Sequence[TagUpdate]) -> list[WriteResult] | None:
        return self.importer.write_bulk(updates)

    def ensure_lists(self, specs: Sequence[ListSpec]) -> list[ListState]:
        from connectors.hubspot.lists import ensure_lists  # type: ignore[import-not-found,unused-ignore]

        return ensure_lists(self.transport, specs)  # type: ignore[no-any-return,unused-ignore]

    def snapshot_list(self, name: str, object_type: ObjectType, record_ids: Sequence[str]) -> str:
        from connectors.hubspot.lists import snapshot_list

        return snapshot_list(self.transport, name, object_type, record_ids)

    def recognise_own_writes(
        self,
        object_type: ObjectType,
        stamps: Mapping[str, datetime],
        unchanged: Callable[[Sequence[Any]], set[str]],
    ) -> None:
        """Before an incremental pull: the stamps HubSpot answered for crmseg's own writes
        (record id -> ``updatedAt``) and the engine's check of which pulled records
        hold nothing the mirror lacks. Such records are not processed again; many of
        them are checked by one filtered export instead of search pages (see
        :mod:`connectors.hubspot.own_writes`)."""
        if stamps:
            self.puller.own[object_type] = (stamps, unchanged)
        else:
            self.puller.own.pop(object_type, None)

    def plan_fields(self, object_type: ObjectType, fields: Sequence[FieldSpec]) -> list[str]:
        from connectors.hubspot.fields import plan_fields

        if not fields:
            return plan_fields(self.transport, object_type, fields)
        return plan_fields(self.transport, object_type, fields, self._property_list(object_type))

    def plan_lists(self, specs: Sequence[ListSpec]) -> list[str]:
        from connectors.hubspot.lists import plan_lists

        return plan_lists(self.transport, specs)

    def missing_properties(self, object_type: ObjectType, names: Sequence[str]) -> list[str]:
        have = self._property_list(object_type)
        return [n for n in names if n not in have]

    def _property_list(self, object_type: ObjectType) -> dict[str, Any]:
        """Name -> property of ``object_type`` for a read-only check: one read serves
        the checks of the next :data:`PROPERTY_LIST_REUSE_SECONDS` (a preflight asks
        for the same list two or three times), then provisioning's no-op check."""
        from connectors.hubspot.fields import read_properties

        recent = self._recent_property_list(object_type)
        if recent is None:
            recent = read_properties(self.transport, object_type)
            self._property_lists[object_type] = (self.transport.clock.monotonic(), recent)
        return recent

    def _recent_property_list(self, object_type: ObjectType) -> dict[str, Any] | None:
        kept = self._property_lists.get(object_type)
        if kept is None or self.transport.clock.monotonic() - kept[0] > PROPERTY_LIST_REUSE_SECONDS:
            return None
        return kept[1]

    def account_id(self) -> str:
        """``hubspot portal <portalId>`` from ``GET /account-info/v3/details``."""
        api = self.transport.api("crm.contacts.basic_api").api_client
        timeout = self.transport.settings.timeout_seconds

        def details() -> Any:
            # The client has no generated account-info api: call its low-level door,
            # which keeps the configured host, CA bundle and token.
            return api.call_api(
                "/account-info/v3/details",
                "GET",
                header_params={"Accept": "application/json"},
                response_types_map={200: "object"},
                auth_settings=["oauth2"],
                _return_http_data_only=True,
                _request_timeout=timeout,
            )

        data = self.transport.call("account-info.details", details)
        portal = data.get("portalId") if isinstance(data, dict) else None
        if portal is None:
            raise CrmError("account-info.details: the answer names no portalId", crm="hubspot")
        return f"hubspot portal {portal}"

    # -- observability ----------------------------------------------------------------
    def api_calls(self) -> dict[str, int]:
        """HTTP attempts per endpoint name so far (retries included)."""
        return self.transport.calls_snapshot()

"""The shared state one sandbox instance hands to every handler module.

Why a plain dataclass: handler modules stay free functions over explicit
state (no globals), and the public Python API mutates the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.sandbox.hubspot.list_registry import ListRegistry
from connectors.sandbox.hubspot.schema import Schema
from connectors.sandbox.hubspot.store import Store


@dataclass
class PartialFailures:
    """On-demand 207s: the next ``batches`` batch writes fail ``ids`` and/or every
    ``every``-th input with ``category`` (set via ``HubSpotStandIn.fail_batch_inputs``)."""

    batches: int = 0
    ids: frozenset[str] = frozenset()
    every: int = 0
    category: str = "VALIDATION_ERROR"
    message: str = "Injected partial failure"


@dataclass
class State:
    store: Store = field(default_factory=Store)
    schema: Schema = field(default_factory=Schema)
    partial: PartialFailures = field(default_factory=PartialFailures)
    lists: ListRegistry | None = None
    portal_id: int = 12345678
    #: Whether ``objectWriteTraceId`` on every input of a batch update turns invalid
    #: values into per-input errors of a 207 (documented for batch create; for
    #: update unverified, so both answers can be had: ``False`` = 400 for the batch).
    traced_updates_multi_status: bool = True

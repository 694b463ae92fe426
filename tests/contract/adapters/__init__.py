"""One small adapter per connector: how the contract starts its CRM (or stand-in),
seeds records, injects a fault and reads the CRM's state back.

The contract tests themselves talk to the connector only through the public
methods of :class:`connectors.base.Connector`; everything they need to know
about the CRM behind it goes through :class:`Target`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Literal

import pytest

from connectors.base import Connector, FieldSpec, ObjectType, TagUpdate, WriteResult

#: What a whole write batch can be refused with, and where it sits in the error tree.
BatchFault = Literal["permission", "server", "rate"]
#: Creates whose answer a stand-in can lose after carrying them out.
Create = Literal["field", "list"]

#: The contract's clauses; ``Target.not_applicable`` names some of them.
CLAUSES = (
    "canonical records",
    "paging",
    "cursors",
    "deletions",
    "fields",
    "writes",
    "errors",
    "lists",
    "lost answers",
)

#: Tag fields the contract writes through (provisioned once per target). Only the
#: list tests write "bronze" and "platinum", so those segments hold just their records.
TIER = FieldSpec("crmseg_contract_tier", "Contract tier", ("gold", "silver", "bronze", "platinum"))
TOPICS = FieldSpec("crmseg_contract_topics", "Contract topics", ("a", "b", "c"), multi=True)


class Target(abc.ABC):
    """One connector and the CRM behind it, as the contract suite sees them."""

    #: The id the suite's parameters show (``contract[hubspot]``).
    name: ClassVar[str]
    #: Clauses that cannot apply to this source, each with the reason shown as
    #: the test's skip reason (``pytest -ra`` lists them).
    not_applicable: ClassVar[Mapping[str, str]] = {}
    #: A source crmseg only reads (CSV files): it may declare the write clauses
    #: not applicable, and must then refuse writes out loud.
    read_only: ClassVar[bool] = False
    #: Whether the connector retries a create whose answer was lost within the same
    #: call (the real connectors do); otherwise it raises ``Retriable`` and the
    #: next run asks again.
    retries_lost_answers: ClassVar[bool] = True
    #: The object type with more records than one page holds.
    paged_object: ClassVar[ObjectType] = "contact"

    connector: Connector
    #: Whether the contract's tag fields were provisioned (``tag_fields`` fixture).
    provisioned: bool = False

    def require(self, clause: str) -> None:
        """Skip, visibly, a clause that does not apply to this source."""
        assert clause in CLAUSES, clause
        if clause in self.not_applicable:
            pytest.skip(f"not applicable to {self.name}: {self.not_applicable[clause]}")

    def write(self, values: Mapping[str, Mapping[str, str | None]]) -> list[WriteResult]:
        """Write contact tags (record id -> values) through the connector's one write
        path, ``Connector.write``; one result per record, in order."""
        updates = [TagUpdate("contact", cid, dict(v)) for cid, v in values.items()]
        return list(self.connector.write(updates))

    # -- the CRM's state ---------------------------------------------------------
    @abc.abstractmethod
    def ids(self, object_type: ObjectType) -> set[str]:
        """Every live record of ``object_type``, read from the CRM itself."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The CRM's clock (what its modification stamps are taken from)."""

    def new_contact(self) -> str:
        """Create a contact outside crmseg (no tags); returns its id."""
        raise NotImplementedError

    def touch(self, object_type: ObjectType, record_id: str) -> None:
        """Edit a record by hand, so its modification stamp moves on."""
        raise NotImplementedError

    def delete(self, object_type: ObjectType, record_id: str) -> None:
        """Delete a record by hand."""
        raise NotImplementedError

    def unknown_id(self) -> str:
        """A well-formed id no record has."""
        raise NotImplementedError

    def value(self, record_id: str, field: str) -> str | None:
        """A contact's tag value as stored (multi values sorted, ``;``-joined)."""
        raise NotImplementedError

    def options(self, object_type: ObjectType, field: str) -> tuple[str, ...] | None:
        """The options a tag field offers (``None``: no such field)."""
        raise NotImplementedError

    def members(self, list_id: str) -> set[str]:
        """Who is in a list, as the CRM answers it."""
        raise NotImplementedError

    def lists_named(self, name: str) -> int:
        """How many live lists carry ``name`` (a twin makes it 2)."""
        raise NotImplementedError

    def tamper_with_list(self, list_id: str) -> None:
        """Someone changes a crmseg list by hand (its filter, or a member)."""
        raise NotImplementedError

    def write_requests(self) -> int:
        """Requests that could change the CRM, seen since the target started."""
        raise NotImplementedError

    # -- faults ------------------------------------------------------------------
    def reject(self, record_id: str) -> None:
        """Writes to this record are refused (validation, a lock) until ``heal``."""
        raise NotImplementedError

    def refuse_next_batch(self, fault: BatchFault) -> None:
        """Every write request is answered with ``fault`` until ``heal``."""
        raise NotImplementedError

    def lose_next_answer(self, create: Create) -> None:
        """The next create of this kind is carried out and its answer lost."""
        raise NotImplementedError

    def lost(self) -> int:
        """How many answers were lost so far."""
        raise NotImplementedError

    def heal(self) -> None:
        """Clear every injected fault."""
        return None

    def close(self) -> None:
        """Stop the stand-in."""
        return None

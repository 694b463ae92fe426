"""One write path: the engine changes a CRM only through ``Connector.write`` (and the
field and list hooks); ``write_batch`` and ``write_bulk`` run only inside it, and
``write`` refuses foreign fields and miscounted answers for every connector alike."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import connectors.base
import sync
from connectors.base import Connector, FieldSpec, ObjectType, TagUpdate, WriteResult
from connectors.errors import Fatal
from connectors.files import FilesConnector
from connectors.hubspot.connector import HubSpotConnector
from connectors.salesforce.connector import SalesforceConnector
from sync.config import Config, ListsConfig
from sync.engine import Engine, RunOptions
from sync.state import State
from tests.sync_engine import fake_crm
from tests.sync_engine.fake_crm import BulkFakeCrm, FakeCrm

AS_OF = date(2026, 6, 30)
SYNC_DIR = str(Path(sync.__file__).parent)
FAKE_FILE = fake_crm.__file__
WRITE_HOOKS = ("write_batch", "write_bulk")


def _seed(crm: FakeCrm) -> FakeCrm:
    for i in range(1, 8):
        crm.add_contact(str(i), email=f"u{i}@example.com", first_name="A", country="DE")
    crm.add_deal("d1", "100", date(2026, 5, 1), ["1"])
    crm.add_deal("d2", "50", date(2025, 5, 1), ["2", "3"])
    return crm


def _caller_outside(frame: FrameType | None, filename: str) -> FrameType | None:
    while frame is not None and frame.f_code.co_filename == filename:
        frame = frame.f_back
    return frame


class Watched:
    """Mixin: records what code under ``sync/`` reads off the connector, and where
    each write hook was called from (the first frame outside the fake CRM)."""

    read_by_sync: set[str]
    hook_callers: list[tuple[str, str, str]]

    def __getattribute__(self, name: str) -> Any:
        caller = sys._getframe(1)
        if caller.f_code.co_filename.startswith(SYNC_DIR):
            object.__getattribute__(self, "read_by_sync").add(name)
        return object.__getattribute__(self, name)

    def write_batch(self, updates: Sequence[TagUpdate]) -> list[WriteResult]:
        self._note("write_batch")
        return super().write_batch(updates)  # type: ignore[misc,no-any-return]

    def write_bulk(self, updates: Sequence[TagUpdate]) -> list[WriteResult] | None:
        self._note("write_bulk")
        return super().write_bulk(updates)  # type: ignore[misc,no-any-return]

    def _note(self, hook: str) -> None:
        frame = _caller_outside(sys._getframe(2), FAKE_FILE)
        assert frame is not None
        self.hook_callers.append((hook, frame.f_code.co_filename, frame.f_code.co_qualname))


class WatchedCrm(Watched, FakeCrm):
    pass


class WatchedBulkCrm(Watched, BulkFakeCrm):
    pass


@pytest.mark.parametrize("kind", [WatchedCrm, WatchedBulkCrm])
def test_the_engine_writes_only_through_connector_write(kind: type[Any]) -> None:
    crm = _seed(kind())
    crm.read_by_sync, crm.hook_callers = set(), []
    config = Config(lists=ListsConfig(lifecycle=["inactive", "prospect"]))
    with State(Path(":memory:")) as state:
        result = Engine(crm, state, config).run(RunOptions("sync", AS_OF))
    assert result.status == "ok" and result.summary["written"] == 7
    # The engine read only what the interface declares, and no write hook.
    assert "write" in crm.read_by_sync
    assert not crm.read_by_sync & {*WRITE_HOOKS, "max_batch_size"}
    undeclared = {
        n
        for n in crm.read_by_sync
        if not hasattr(Connector, n) and n not in Connector.__annotations__
    }
    assert undeclared == set()
    # Every hook call came from inside Connector.write (its batch sender on the pool threads).
    assert crm.hook_callers
    assert {(file, name.split(".<locals>")[0]) for _, file, name in crm.hook_callers} == {
        (connectors.base.__file__, "Connector.write")
    }
    if kind is WatchedBulkCrm:
        assert [h for h, _, _ in crm.hook_callers] == ["write_bulk"]


def _specs(crm: FakeCrm) -> FakeCrm:
    crm.ensure_fields("contact", [FieldSpec("crmseg_abc", "ABC", ("A", "B", "C"))])
    crm.add_contact("1")
    crm.add_contact("2")
    return crm


def test_a_field_outside_the_prefix_refuses_the_whole_write_before_any_call() -> None:
    crm = _specs(FakeCrm())
    updates = [
        TagUpdate("contact", "1", {"crmseg_abc": "A"}),
        TagUpdate("contact", "2", {"crmseg_abc": "B", "email": "x@example.com"}),
    ]
    with pytest.raises(ValueError, match=r"refusing to write \['email'\] on contact 2"):
        crm.write(updates)
    assert crm.calls["write"] == 0 and crm.value("1", "crmseg_abc") is None


class Short(FakeCrm):
    """Answers one result too few for every batch."""

    def write_batch(self, updates: Sequence[TagUpdate]) -> list[WriteResult]:
        return super().write_batch(updates)[:-1]


def test_a_batch_answered_with_too_few_results_stops_the_write() -> None:
    crm = _specs(Short())
    crm.concurrency = 1
    seen: list[Sequence[WriteResult]] = []
    with pytest.raises(Fatal, match="fake: answered 1 results for 2 updates"):
        crm.write(
            [TagUpdate("contact", c, {"crmseg_abc": "A"}) for c in ("1", "2")],
            lambda _t, results: seen.append(results),
        )
    assert seen == []


class Recorder(FakeCrm):
    """Accepts every batch of any object type, noting its type and size."""

    def write_batch(self, updates: Sequence[TagUpdate]) -> list[WriteResult]:
        self.sent.append((updates[0].object_type, len(updates)))
        return [WriteResult(u.record_id, True) for u in updates]

    @property
    def sent(self) -> list[tuple[ObjectType, int]]:
        return self.__dict__.setdefault("_sent", [])


def test_write_sends_companies_first_in_batches_of_the_crms_size() -> None:
    crm = Recorder()
    crm.concurrency = 1
    updates = [TagUpdate("contact", str(i), {"crmseg_abc": "A"}) for i in range(4)]
    updates += [TagUpdate("company", f"c{i}", {"crmseg_abc": "B"}) for i in range(2)]
    stored: list[tuple[ObjectType, int]] = []
    results = crm.write(updates, lambda t, rs: stored.append((t, len(rs))))
    assert crm.sent == [("company", 2), ("contact", 3), ("contact", 1)]
    assert stored == crm.sent
    assert [r.record_id for r in results] == ["c0", "c1", "0", "1", "2", "3"]


@pytest.mark.parametrize(
    "cls", [HubSpotConnector, SalesforceConnector, FilesConnector, FakeCrm, BulkFakeCrm]
)
def test_every_connector_implements_the_declared_interface(cls: type[Connector]) -> None:
    assert not getattr(cls, "__abstractmethods__", None)
    assert cls.write is Connector.write  # the one write path is not overridden
    assert isinstance(cls.name, str) and cls.name
    assert isinstance(cls.max_batch_size, int) and cls.max_batch_size >= 1
    assert isinstance(cls.concurrency, int) and isinstance(cls.concurrent_pulls, bool)
    for name, base in vars(Connector).items():
        mine = getattr(cls, name)
        if inspect.isfunction(base) and mine is not base:
            assert list(inspect.signature(mine).parameters) == list(
                inspect.signature(base).parameters
            ), name
    # No rate knobs the engine never reads: each connector's limiter owns them.
    assert not hasattr(cls, "rate_limit") and not hasattr(cls, "rate_window_seconds")

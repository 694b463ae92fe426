"""What a sync run is asked (:class:`RunOptions`), what it answers (:class:`RunResult`)
and how it shows progress (:class:`Reporter`); shared by the engine and its steps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sync.plan import Change, Plan

__all__ = ["Reporter", "RunOptions", "RunResult", "Silent"]


class Reporter(Protocol):
    def phase(
        self, description: str, total: int | None = None
    ) -> AbstractContextManager[Callable[[int], None]]:
        """A unit of work; the callable advances it by n."""


class Silent:
    @contextmanager
    def phase(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        yield lambda n: None


@dataclass(frozen=True)
class RunOptions:
    command: str
    as_of: date
    full: bool = False
    dry_run: bool = False
    allow_mass_change: bool = False
    #: Restrict the plan (and the writes) to these contacts.
    record_ids: tuple[str, ...] | None = None
    #: Skip the pull and plan from the mirror as it is (``crmseg plan --offline``).
    pull: bool = True


@dataclass
class RunResult:
    run_id: int
    status: str
    plan: Plan
    summary: dict[str, Any] = field(default_factory=dict)
    failures: list[tuple[Change, str]] = field(default_factory=list)

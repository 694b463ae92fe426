"""The SOQL subset's syntax tree: what ``soql_parse`` builds and ``soql_eval`` runs.

Why a module of its own: the parser and the evaluator both speak these frozen
node types (a query, its fields, conditions and literal values), so neither needs
the other to name them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class FieldRef:
    path: tuple[str, ...]  # ("Name",) or ("Account", "Name")
    func: str | None = None  # "convertCurrency" in SELECT

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class RelativeDate:
    """A date literal that names a range (TODAY, LAST_N_DAYS:n), resolved at evaluation."""

    name: str
    n: int = 0


@dataclass(frozen=True)
class Like:
    regex: re.Pattern[str]


Value = str | Decimal | bool | None | date | datetime | RelativeDate


@dataclass(frozen=True)
class Compare:
    field: FieldRef
    op: str  # = != < <= > >=
    value: Value


@dataclass(frozen=True)
class InList:
    field: FieldRef
    values: tuple[Value, ...]
    negate: bool


@dataclass(frozen=True)
class LikeMatch:
    field: FieldRef
    pattern: Like
    negate: bool


@dataclass(frozen=True)
class Includes:
    field: FieldRef
    groups: tuple[frozenset[str], ...]  # each 'A;B' is one AND-group; groups are OR-ed
    excludes: bool


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND / OR
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    item: Cond


Cond = Compare | InList | LikeMatch | Includes | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    fields: tuple[FieldRef, ...]
    sobject: str
    where: Cond | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    #: ``SELECT COUNT() FROM ...``: only ``totalSize`` is answered, no records.
    count: bool = False

"""Evaluate a parsed SOQL query against a catalog of sObjects.

Field names resolve case-insensitively through the *visible* schema, so a
custom field without a Read grant is ``INVALID_FIELD`` exactly like a typo.
Literals are type-checked against the field (a quoted date is an error, as on
the platform). The same evaluator serves REST query, Bulk 2.0 query jobs and
the Tooling API's tiny CustomField table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from .errors import SfError, invalid_field
from .schema import FieldDef, ObjectDef
from .soql_ast import (
    BoolOp,
    Compare,
    Cond,
    FieldRef,
    Includes,
    InList,
    LikeMatch,
    Not,
    Query,
    RelativeDate,
    Value,
)
from .soql_parse import parse
from .store import Record, case_safe_id

_NUMERIC = ("currency", "double", "percent", "int")
_TEXTUAL = (
    "id",
    "reference",
    "string",
    "textarea",
    "email",
    "phone",
    "url",
    "picklist",
    "multipicklist",
)


class Catalog(Protocol):
    def object(self, name: str) -> ObjectDef | None: ...
    def readable(self, obj: str, name: str) -> FieldDef | None: ...
    def rows(self, obj: str, include_deleted: bool) -> list[Record]: ...
    def get(self, obj: str, rid: str) -> Record | None: ...


@dataclass(frozen=True)
class Column:
    """A resolved SELECT item: the reference chain and the final field."""

    ref: FieldRef
    hops: tuple[tuple[str, FieldDef], ...]  # (object, reference field) per parent hop
    obj: str  # object that owns ``fd``
    fd: FieldDef

    @property
    def label(self) -> str:
        """The Bulk CSV header. For ``convertCurrency(X)`` Salesforce documents none; the
        stand-in writes ``convertCurrency(X)``, unlike REST's key ``X`` (FACTS.md)."""
        names = [fd.relationship_name or "" for _, fd in self.hops] + [self.fd.name]
        dotted = ".".join(names)
        return f"{self.ref.func}({dotted})" if self.ref.func else dotted


@dataclass
class Result:
    sobject: str
    columns: list[Column]
    rows: list[Record]


def resolve(cat: Catalog, obj: str, ref: FieldRef) -> Column:
    hops: list[tuple[str, FieldDef]] = []
    current = obj
    for part in ref.path[:-1]:
        od = cat.object(current)
        assert od is not None
        link = od.relationship(part)
        if link is None or link.reference_to is None or cat.readable(current, link.name) is None:
            raise invalid_field(ref.dotted, current)
        hops.append((current, link))
        current = link.reference_to
    fd = cat.readable(current, ref.path[-1])
    if fd is None:
        raise invalid_field(ref.dotted, current)
    if ref.func == "convertCurrency":
        if getattr(cat, "rates", None) is None:
            raise SfError(
                400,
                "INVALID_FIELD",
                "convertCurrency() can only be used in an organization with multiple currencies",
            )
        if fd.type != "currency":
            raise SfError(
                400, "INVALID_FIELD", f"convertCurrency() needs a currency field: {fd.name}"
            )
    return Column(ref, tuple(hops), current, fd)


def _plain(cat: Catalog, rec: Record | None, col: Column) -> Any:
    """A stored value, converted for ``convertCurrency`` columns (``Org.convert``)."""
    if rec is None:
        return None
    value = rec.get(col.fd.name)
    if col.ref.func == "convertCurrency":
        return cat.convert(value, rec.get("CurrencyIsoCode"))  # type: ignore[attr-defined]
    return value


def value_of(cat: Catalog, rec: Record | None, col: Column) -> Any:
    for _, link in col.hops:
        if rec is None:
            return None
        parent_id = rec.get(link.name)
        rec = cat.get(link.reference_to or "", parent_id) if parent_id else None
    return _plain(cat, rec, col)


def _type_error(fd: FieldDef, kind: str, quoted: bool) -> SfError:
    hint = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return SfError(
        400,
        "INVALID_FIELD",
        f"value of filter criterion for field '{fd.name}' must be of type {kind} and {hint}",
    )


def _check_literal(fd: FieldDef, value: Value) -> None:
    if value is None:
        return
    t = fd.type
    if t == "boolean" and not isinstance(value, bool):
        raise _type_error(fd, "boolean", False)
    if t in _NUMERIC and (isinstance(value, bool) or not isinstance(value, Decimal)):
        raise _type_error(fd, "double", False)
    if t == "date" and not (
        isinstance(value, RelativeDate)
        or (isinstance(value, date) and not isinstance(value, datetime))
    ):
        raise _type_error(fd, "date", False)
    if t == "datetime" and not isinstance(value, datetime | RelativeDate):
        raise _type_error(fd, "dateTime", False)
    if t in _TEXTUAL and not isinstance(value, str):
        raise _type_error(fd, "string", True)


def _date_range(rel: RelativeDate, today: date) -> tuple[date, date]:
    if rel.name == "TODAY":
        return today, today + timedelta(days=1)
    if rel.name == "YESTERDAY":
        return today - timedelta(days=1), today
    if rel.name == "TOMORROW":
        return today + timedelta(days=1), today + timedelta(days=2)
    if rel.name == "LAST_N_DAYS":
        return today - timedelta(days=rel.n), today + timedelta(days=1)
    return today + timedelta(days=1), today + timedelta(days=rel.n + 1)  # NEXT_N_DAYS


def _norm(fd: FieldDef, v: Any) -> Any:
    if isinstance(v, str):
        if fd.type in ("id", "reference"):
            return case_safe_id(v) if len(v) == 15 else v
        return v.lower()
    return v


class _Evaluator:
    def __init__(self, cat: Catalog, obj: str, today: date) -> None:
        self.cat, self.obj, self.today = cat, obj, today
        self.cols: dict[FieldRef, Column] = {}

    def col(self, ref: FieldRef) -> Column:
        if ref not in self.cols:
            self.cols[ref] = resolve(self.cat, self.obj, ref)
        return self.cols[ref]

    def check(self, cond: Cond) -> None:
        """Resolve every field and type-check every literal before touching a row."""
        if isinstance(cond, BoolOp):
            for item in cond.items:
                self.check(item)
        elif isinstance(cond, Not):
            self.check(cond.item)
        elif isinstance(cond, Compare):
            _check_literal(self.col(cond.field).fd, cond.value)
        elif isinstance(cond, InList):
            for v in cond.values:
                _check_literal(self.col(cond.field).fd, v)
        elif isinstance(cond, Includes):
            if self.col(cond.field).fd.type != "multipicklist":
                raise SfError(
                    400,
                    "INVALID_FIELD",
                    "includes or excludes operator only valid on multipicklist field",
                )
        else:
            self.col(cond.field)

    def matches(self, cond: Cond, rec: Record) -> bool:
        if isinstance(cond, BoolOp):
            hits = (self.matches(item, rec) for item in cond.items)
            return all(hits) if cond.op == "AND" else any(hits)
        if isinstance(cond, Not):
            return not self.matches(cond.item, rec)
        col = self.col(cond.field)
        actual = value_of(self.cat, rec, col)
        if isinstance(cond, Compare):
            return self.compare(col.fd, actual, cond.op, cond.value)
        if isinstance(cond, InList):
            hit = any(self.compare(col.fd, actual, "=", v) for v in cond.values)
            return hit != cond.negate
        if isinstance(cond, LikeMatch):
            hit = actual is not None and cond.pattern.regex.fullmatch(str(actual)) is not None
            return hit != cond.negate
        have = set(str(actual).split(";")) if actual else set()
        hit = any(group <= have for group in cond.groups)
        return hit != cond.excludes

    def compare(self, fd: FieldDef, actual: Any, op: str, literal: Value) -> bool:
        if isinstance(literal, RelativeDate):
            start, end = _date_range(literal, self.today)
            lo: Any = start
            hi: Any = end
            if fd.type == "datetime":
                lo = datetime.combine(start, time(), UTC)
                hi = datetime.combine(end, time(), UTC)
            if actual is None:
                return op == "!="
            return {
                "=": lo <= actual < hi,
                "!=": not lo <= actual < hi,
                "<": actual < lo,
                "<=": actual < hi,
                ">": actual >= hi,
                ">=": actual >= lo,
            }[op]
        if literal is None or actual is None:
            same = literal is None and actual is None
            return same if op == "=" else (not same) if op == "!=" else False
        if fd.type == "multipicklist" and op in ("=", "!="):
            same = set(str(actual).lower().split(";")) == set(str(literal).lower().split(";"))
            return same == (op == "=")
        a, b = _norm(fd, actual), _norm(fd, literal)
        ops: dict[str, Callable[[Any, Any], bool]] = {
            "=": lambda x, y: x == y,
            "!=": lambda x, y: x != y,
            "<": lambda x, y: x < y,
            "<=": lambda x, y: x <= y,
            ">": lambda x, y: x > y,
            ">=": lambda x, y: x >= y,
        }
        return ops[op](a, b)


def execute(
    cat: Catalog, soql: str | Query, *, include_deleted: bool, today: date | None = None
) -> Result:
    """Run a query: validate fields and literals, filter, order, limit."""
    query = parse(soql) if isinstance(soql, str) else soql
    od = cat.object(query.sobject)
    if od is None:
        raise SfError(
            400,
            "INVALID_TYPE",
            f"\nFROM {query.sobject}\n     ^\nERROR at Row:1:Column:1\nsObject type "
            f"'{query.sobject}' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name.",
        )
    ev = _Evaluator(cat, od.name, today or datetime.now(UTC).date())
    columns = [ev.col(ref) for ref in query.fields]
    if query.where is not None:
        ev.check(query.where)
    order_cols = [(ev.col(item.field), item) for item in query.order_by]
    rows: Iterable[Record] = cat.rows(od.name, include_deleted)
    if query.where is not None:
        where = query.where
        rows = [r for r in rows if ev.matches(where, r)]
    rows = list(rows)
    for col, item in reversed(order_cols):
        present = [r for r in rows if value_of(cat, r, col) is not None]
        absent = [r for r in rows if value_of(cat, r, col) is None]
        present.sort(key=_sort_key(cat, col), reverse=item.descending)
        rows = present + absent if item.nulls_last else absent + present
    if query.limit is not None:
        rows = rows[: query.limit]
    return Result(od.name, columns, rows)


def _sort_key(cat: Catalog, col: Column) -> Callable[[Record], Any]:
    def key(rec: Record) -> Any:
        return _norm(col.fd, value_of(cat, rec, col))

    return key


def rest_record(cat: Catalog, result: Result, rec: Record, base: str) -> dict[str, Any]:
    """One record as REST query returns it: ``attributes`` first, parents nested."""
    out: dict[str, Any] = {
        "attributes": {
            "type": result.sobject,
            "url": f"{base}/sobjects/{result.sobject}/{rec['Id']}",
        }
    }
    for col in result.columns:
        target = out
        current: Record | None = rec
        for obj, link in col.hops:
            rel = link.relationship_name or ""
            parent_id = current.get(link.name) if current else None
            current = cat.get(link.reference_to or "", parent_id) if parent_id else None
            if current is None:
                target[rel] = target.get(rel) or None
                target = {}
                break
            if not isinstance(target.get(rel), dict):
                target[rel] = {
                    "attributes": {
                        "type": link.reference_to,
                        "url": f"{base}/sobjects/{link.reference_to}/{current['Id']}",
                    }
                }
            target = target[rel]
            del obj
        else:
            target[col.fd.name] = _plain(cat, current, col)
    return out

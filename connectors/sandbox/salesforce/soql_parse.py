"""SOQL subset: a hand-written tokenizer and a recursive-descent parser into a small AST.

Grammar (keywords case-insensitive)::

    query     := SELECT (COUNT '(' ')' | item (',' item)*) FROM name [WHERE cond]
                 [ORDER BY order (',' order)*]
                 [LIMIT int]
    item      := field | convertCurrency '(' field ')'
    cond      := unary ((AND unary)* | (OR unary)*)     -- mixing AND/OR needs parentheses
    unary     := NOT unary | '(' cond ')' | predicate
    predicate := field op value | field [NOT] IN '(' value, ... ')' | field [NOT] LIKE string
               | field (INCLUDES | EXCLUDES) '(' string, ... ')'
    value     := 'string' | number | true | false | null | date | datetime
               | TODAY | YESTERDAY | TOMORROW | LAST_N_DAYS:n | NEXT_N_DAYS:n

Anything outside the subset is ``MALFORMED_QUERY`` with Salesforce's "unexpected token"
wording, so a connector that drifts into unsupported SOQL fails here as it would live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .errors import SfError, malformed_query

MAX_SOQL_CHARS = 100_000
MAX_STRING_LITERAL = 4_000

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\d:T]))
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[(),:])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)

_SIMPLE_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int

    def kw(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


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


def tokenize(soql: str) -> list[Token]:
    if len(soql) > MAX_SOQL_CHARS:
        raise malformed_query(f"SOQL statements cannot be longer than {MAX_SOQL_CHARS} characters")
    tokens: list[Token] = []
    pos = 0
    while pos < len(soql):
        m = _TOKEN.match(soql, pos)
        if m is None:
            raise malformed_query(f"unexpected token: '{soql[pos : pos + 10].split()[0]}'")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("eof", "", len(soql)))
    return tokens


def _unescape(body: str, raw: str, *, like: bool) -> list[tuple[str, bool]]:
    """(char, escaped) pairs; ``escaped`` marks a character that came from a backslash."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append((ch, False))
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        simple = _SIMPLE_ESCAPES.get(nxt) or _SIMPLE_ESCAPES.get(nxt.lower())
        if nxt and simple is not None:
            out.append((simple, True))
            i += 2
        elif nxt in ("u", "U") and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append((chr(int(body[i + 2 : i + 6], 16)), True))
            i += 6
        elif like and nxt and nxt in "%_":
            out.append((nxt, True))
            i += 2
        else:
            raise malformed_query(
                f"Invalid string literal '{raw}'. Illegal character sequence "
                f"'\\{nxt}' in string literal."
            )
    if len(out) > MAX_STRING_LITERAL:
        raise malformed_query("String literal too long (max 4000 characters)")
    return out


def decode_string(raw: str) -> str:
    """Unescape a quoted literal (``\\n \\' \\\\ \\uXXXX`` ...); other escapes are errors."""
    return "".join(ch for ch, _ in _unescape(raw[1:-1], raw, like=False))


def like_regex(raw: str) -> Like:
    """``%`` any run, ``_`` one char, ``\\%``/``\\_`` literal; case-insensitive like SOQL."""
    parts = []
    for ch, escaped in _unescape(raw[1:-1], raw, like=True):
        if not escaped and ch == "%":
            parts.append(".*")
        elif not escaped and ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return Like(re.compile("".join(parts), re.IGNORECASE | re.DOTALL))


class _Parser:
    def __init__(self, soql: str) -> None:
        self.toks = tokenize(soql)
        self.i = 0

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def unexpected(self, tok: Token | None = None) -> SfError:
        tok = tok or self.peek()
        if tok.kind == "eof":
            return malformed_query("unexpected token: <EOF>")
        return malformed_query(f"unexpected token: '{tok.text}'")

    def expect_kw(self, word: str) -> None:
        if self.peek().kw() != word:
            raise self.unexpected()
        self.take()

    def expect(self, text: str) -> None:
        if self.peek().text != text or self.peek().kind not in ("punct", "op"):
            raise self.unexpected()
        self.take()

    def field(self) -> FieldRef:
        tok = self.take()
        if tok.kind != "name":
            raise self.unexpected(tok)
        if self.peek().text == "(":  # functions / aggregates are outside the subset
            raise self.unexpected()
        return FieldRef(tuple(tok.text.split(".")))

    def select_item(self) -> FieldRef:
        """A field, or ``convertCurrency(field)`` (the only function in the subset)."""
        tok = self.peek()
        if tok.kw() == "CONVERTCURRENCY" and self.toks[self.i + 1].text == "(":
            self.take()
            self.expect("(")
            inner = self.field()
            self.expect(")")
            return FieldRef(inner.path, "convertCurrency")
        return self.field()

    def query(self) -> Query:
        self.expect_kw("SELECT")
        count = False
        fields: list[FieldRef] = []
        if self.peek().kw() == "COUNT" and self.toks[self.i + 1].text == "(":
            self.take()
            self.expect("(")
            self.expect(")")
            count = True
        else:
            fields.append(self.select_item())
            while self.peek().text == ",":
                self.take()
                fields.append(self.select_item())
        self.expect_kw("FROM")
        obj = self.take()
        if obj.kind != "name" or "." in obj.text:
            raise self.unexpected(obj)
        where = None
        if self.peek().kw() == "WHERE":
            self.take()
            where = self.cond()
        order: list[OrderItem] = []
        if self.peek().kw() == "ORDER":
            self.take()
            self.expect_kw("BY")
            order.append(self.order_item())
            while self.peek().text == ",":
                self.take()
                order.append(self.order_item())
        limit = None
        if self.peek().kw() == "LIMIT":
            self.take()
            tok = self.take()
            if tok.kind != "number" or not tok.text.isdigit():
                raise self.unexpected(tok)
            limit = int(tok.text)
        if self.peek().kind != "eof":
            raise self.unexpected()
        return Query(tuple(fields), obj.text, where, tuple(order), limit, count)

    def order_item(self) -> OrderItem:
        ref = self.field()
        desc = False
        if self.peek().kw() in ("ASC", "DESC"):
            desc = self.take().kw() == "DESC"
        nulls_last = desc
        if self.peek().kw() == "NULLS":
            self.take()
            which = self.take()
            if which.kw() not in ("FIRST", "LAST"):
                raise self.unexpected(which)
            nulls_last = which.kw() == "LAST"
        return OrderItem(ref, desc, nulls_last)

    def cond(self) -> Cond:
        items = [self.unary()]
        joiner = ""
        while self.peek().kw() in ("AND", "OR"):
            word = self.take().kw()
            if joiner and word != joiner:
                raise malformed_query(
                    f"unexpected token: '{word}' (use parentheses to mix AND and OR)"
                )
            joiner = word
            items.append(self.unary())
        return items[0] if len(items) == 1 else BoolOp(joiner, tuple(items))

    def unary(self) -> Cond:
        if self.peek().kw() == "NOT":
            self.take()
            return Not(self.unary())
        if self.peek().text == "(" and self.peek().kind == "punct":
            self.take()
            inner = self.cond()
            self.expect(")")
            return inner
        return self.predicate()

    def predicate(self) -> Cond:
        ref = self.field()
        tok = self.peek()
        if tok.kind == "op":
            self.take()
            op = "!=" if tok.text == "<>" else tok.text
            return Compare(ref, op, self.value())
        negate = False
        if tok.kw() == "NOT":
            self.take()
            negate = True
            tok = self.peek()
        word = tok.kw()
        if word == "IN":
            self.take()
            return InList(ref, tuple(self.value_list()), negate)
        if word == "LIKE":
            self.take()
            pat = self.take()
            if pat.kind != "string":
                raise self.unexpected(pat)
            return LikeMatch(ref, like_regex(pat.text), negate)
        if word in ("INCLUDES", "EXCLUDES") and not negate:
            self.take()
            groups = []
            for v in self.value_list():
                if not isinstance(v, str):
                    raise malformed_query("INCLUDES/EXCLUDES take string values")
                groups.append(frozenset(p.strip() for p in v.split(";")))
            return Includes(ref, tuple(groups), word == "EXCLUDES")
        raise self.unexpected()

    def value_list(self) -> list[Value]:
        self.expect("(")
        values = [self.value()]
        while self.peek().text == ",":
            self.take()
            values.append(self.value())
        self.expect(")")
        return values

    def value(self) -> Value:
        tok = self.take()
        if tok.kind == "string":
            return decode_string(tok.text)
        if tok.kind == "number":
            return Decimal(tok.text)
        if tok.kind == "date":
            try:
                return date.fromisoformat(tok.text)
            except ValueError:
                raise malformed_query(f"invalid date: {tok.text}") from None
        if tok.kind == "datetime":
            text = tok.text.replace("Z", "+00:00")
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                raise malformed_query(f"invalid datetime: {tok.text}") from None
        word = tok.kw()
        if word in ("TRUE", "FALSE"):
            return word == "TRUE"
        if word == "NULL":
            return None
        if word in ("TODAY", "YESTERDAY", "TOMORROW"):
            return RelativeDate(word)
        if word in ("LAST_N_DAYS", "NEXT_N_DAYS"):
            self.expect(":")
            n = self.take()
            if n.kind != "number" or not n.text.isdigit():
                raise self.unexpected(n)
            return RelativeDate(word, int(n.text))
        raise self.unexpected(tok)


def parse(soql: str) -> Query:
    """Parse one SOQL statement or raise ``MALFORMED_QUERY``."""
    return _Parser(soql).query()

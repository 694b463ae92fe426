"""SOQL subset: a recursive-descent parser from ``soql_lexer`` tokens into ``soql_ast`` nodes.

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

from datetime import date, datetime
from decimal import Decimal

from .errors import SfError, malformed_query
from .soql_ast import (
    BoolOp,
    Compare,
    Cond,
    FieldRef,
    Includes,
    InList,
    LikeMatch,
    Not,
    OrderItem,
    Query,
    RelativeDate,
    Value,
)
from .soql_lexer import Token, decode_string, like_regex, tokenize


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

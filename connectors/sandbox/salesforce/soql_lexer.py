"""The SOQL subset's tokens and string literals, with Salesforce's limits and errors.

Why apart from the parser: the lexical rules (what a token is, how a quoted
literal unescapes, how a LIKE pattern becomes a regex, the 100,000-character
statement and 4,000-character literal limits) carry their own MALFORMED_QUERY
wordings, and a literal's escapes differ inside LIKE (``\\%``, ``\\_``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import malformed_query
from .soql_ast import Like

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

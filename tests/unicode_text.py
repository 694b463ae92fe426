"""Hypothesis text of every character UTF-8 can encode, without building a codec table.

Why: ``st.text()`` draws by default from ``st.characters(codec="utf-8")``, and where
Hypothesis has no cached table of that codec yet (a fresh checkout: every CI run) it
first encodes each of the 1,114,112 code points to find which UTF-8 takes: about 3 s,
charged to whichever test draws text first. UTF-8 encodes every code point but the
surrogates, which are exactly Unicode category ``Cs``; Hypothesis reads categories
from its bundled Unicode tables, so ``UTF8_CHARACTERS`` is the same set of code
points (the same intervals, so the same draws) at a fraction of the first cost.
"""

from __future__ import annotations

from hypothesis import strategies as st

#: Every code point UTF-8 encodes: all but the surrogates (``st.text()``'s default).
UTF8_CHARACTERS = st.characters(exclude_categories=("Cs",))


def utf8_text(
    *, min_size: int = 0, max_size: int | None = None, without: str = ""
) -> st.SearchStrategy[str]:
    """``st.text(min_size=..., max_size=...)`` over ``UTF8_CHARACTERS``, less ``without``."""
    alphabet = (
        st.characters(exclude_categories=("Cs",), exclude_characters=without)
        if without
        else UTF8_CHARACTERS
    )
    return st.text(alphabet, min_size=min_size, max_size=max_size)

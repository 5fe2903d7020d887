"""Search result snippets as safe HTML: the text escaped, matches in ``<mark>``."""

from __future__ import annotations

import html
import re
import unicodedata

from carnet.storage.search import MARK_START, MARK_STOP

SNIPPET_WORDS = 30
_WORD = re.compile(r"\w+")


def marked_to_html(marked: str) -> str:
    """Text from ``ts_headline`` (markers around matches) → escaped HTML with ``<mark>``."""
    escaped = html.escape(" ".join(marked.split()), quote=True)
    return escaped.replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    """pg_trgm's similarity of two words (shared trigrams over all trigrams)."""
    left, right = _trigrams(_fold(a)), _trigrams(_fold(b))
    return len(left & right) / len(left | right) if left and right else 0.0


def fuzzy_snippet(text: str, words: list[str], threshold: float = 0.4) -> str:
    """A window of ``text`` around the first word close to one of ``words``, those
    close words marked; the opening of the text when none is close."""
    tokens = list(_WORD.finditer(text))
    if not tokens:
        return ""
    close = [
        index
        for index, token in enumerate(tokens)
        if any(similarity(token.group(0), word) >= threshold for word in words)
    ]
    first = max(0, (close[0] - 8) if close else 0)
    last = min(len(tokens), first + SNIPPET_WORDS)
    start, end = tokens[first].start(), tokens[last - 1].end()
    pieces: list[str] = []
    position = start
    for index in close:
        if first <= index < last:
            token = tokens[index]
            pieces.append(html.escape(text[position : token.start()]))
            pieces.append(f"<mark>{html.escape(token.group(0))}</mark>")
            position = token.end()
    pieces.append(html.escape(text[position:end]))
    snippet = " ".join("".join(pieces).split())
    return ("… " if first else "") + snippet + (" …" if last < len(tokens) else "")


def opening(text: str) -> str:
    return fuzzy_snippet(text, [])

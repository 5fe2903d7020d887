"""Render a note body — a Tiptap document stored by y-prosemirror — as Markdown, HTML or text.

A note body is a pycrdt ``Doc`` whose ``XmlFragment`` named ``"default"`` holds the
ProseMirror document the way y-prosemirror writes it:

- every node is an ``XmlElement`` whose tag is the ProseMirror node type
  (``paragraph``, ``heading``, ``bulletList``, ``orderedList``, ``listItem``,
  ``blockquote``, ``codeBlock``, ``horizontalRule``, ``hardBreak``); node attributes
  are element attributes, ``null`` ones are left out, and JS numbers arrive as
  floats (``level: 2.0``, ``start: 3.0``);
- the text of a textblock is one ``XmlText`` per stretch of text between inline
  nodes (a ``hardBreak`` element splits it); its formatting attributes are the
  marks, each mapped to the mark's attrs (``{"bold": {}}``,
  ``{"link": {"href": ..., "target": "_blank", "rel": ..., "class": None, ...}}``);
- a mark that may overlap itself (``excludes: ''``) is stored under
  ``name--<hash>`` (e.g. ``link--FtV7yb4M``); ``ychange`` (snapshot diffs) is noise.

Rendering reads that tree once, inside one transaction, into a small immutable
model (``Block`` / ``Inline`` below), then each format is a pure function of the
model. Unknown node types are not dropped: their children are rendered in place
(stray text becomes a paragraph). Unknown marks are ignored (their text is kept).

Links whose ``href`` is not http, https, mailto or relative are dropped (the text
stays) for every format, so neither the HTML nor a Markdown export carries a
``javascript:`` or ``data:`` URL. In HTML every text and attribute is escaped.

Markdown is CommonMark (plus ``~~strike~~``) written so that it parses back to
the same text and marks: plain text is backslash-escaped (``* _ [ ] # ` < ~`` and backslash
everywhere, ``- + = > 1.`` at a line start, ``&`` before an entity), edge spaces
of a line become ``&#32;``, a newline inside text becomes a hard break, and an
emphasis CommonMark's flanking rules would not read (``a***~~b~~***``) is written
as inline HTML (``<strong>``, ``<em>``, ``<del>``). Underline has no Markdown form
(its text is kept, unmarked); a hard break cannot end a Markdown block, so trailing
ones are dropped (also in text).
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import pycrdt

__all__ = [
    "FORMATS",
    "FRAGMENT_NAME",
    "Block",
    "Inline",
    "html_from_blocks",
    "mark_name",
    "markdown_from_blocks",
    "plain_text",
    "read_fragment",
    "render",
    "render_html",
    "render_markdown",
    "render_text",
    "safe_href",
    "text_from_blocks",
]

FRAGMENT_NAME: Final = "default"
FORMATS: Final = ("markdown", "html", "text")

# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------

Mark: TypeAlias = tuple[str, str]
"""A mark as (name, value): value is the (safe) href for ``link``, "" otherwise."""

# Nesting order, outermost first: a link wraps emphasis, code is innermost.
_MARK_RANK: Final = {"link": 0, "bold": 1, "italic": 2, "underline": 3, "strike": 4, "code": 5}


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    marks: tuple[Mark, ...] = ()


@dataclass(frozen=True, slots=True)
class Break:
    pass


Inline: TypeAlias = Text | Break


@dataclass(frozen=True, slots=True)
class Paragraph:
    content: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    content: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class CodeBlock:
    language: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Rule:
    pass


@dataclass(frozen=True, slots=True)
class Quote:
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class ListBlock:
    ordered: bool
    start: int
    items: tuple[tuple[Block, ...], ...]


Block: TypeAlias = Paragraph | Heading | CodeBlock | Rule | Quote | ListBlock

# ---------------------------------------------------------------------------
# Reading the pycrdt tree
# ---------------------------------------------------------------------------

_Node: TypeAlias = pycrdt.XmlText | pycrdt.XmlElement | pycrdt.XmlFragment

_BLOCK_TAGS: Final = frozenset(
    {
        "paragraph",
        "heading",
        "codeBlock",
        "horizontalRule",
        "blockquote",
        "bulletList",
        "orderedList",
    }
)
_MAX_LIST_START: Final = 999_999_999  # CommonMark allows at most 9 digits


def read_fragment(fragment: pycrdt.XmlFragment) -> tuple[Block, ...]:
    """Read a y-prosemirror fragment into the renderer's model (one transaction)."""
    with fragment.doc.transaction():
        return _read_blocks(fragment.children)


def _tag(node: _Node) -> str | None:
    return node.tag if isinstance(node, pycrdt.XmlElement) else None


def _read_blocks(nodes: Iterable[_Node]) -> tuple[Block, ...]:
    blocks: list[Block] = []
    stray: list[_Node] = []  # inline content found where blocks belong

    def flush() -> None:
        if stray:
            blocks.append(Paragraph(_read_inlines(stray)))
            stray.clear()

    for node in nodes:
        tag = _tag(node)
        if tag in _BLOCK_TAGS:
            flush()
            assert isinstance(node, pycrdt.XmlElement)
            blocks.append(_read_block(node))
        elif isinstance(node, pycrdt.XmlText) or tag == "hardBreak":
            stray.append(node)
        else:  # unknown element (or a listItem out of place): render its children
            flush()
            blocks.extend(_read_blocks(node.children))
    flush()
    return tuple(blocks)


def _read_block(element: pycrdt.XmlElement) -> Block:
    tag = element.tag
    attrs = element.attributes
    if tag == "heading":
        level = min(6, max(1, _as_int(attrs.get("level"), 1)))
        return Heading(level, _read_inlines(element.children))
    if tag == "codeBlock":
        text = _plain(_read_inlines(element.children))
        return CodeBlock(_as_language(attrs.get("language")), text)
    if tag == "horizontalRule":
        return Rule()
    if tag == "blockquote":
        return Quote(_read_blocks(element.children))
    if tag in ("bulletList", "orderedList"):
        start = min(_MAX_LIST_START, max(0, _as_int(attrs.get("start"), 1)))
        items = tuple(
            _read_blocks(child.children)
            if isinstance(child, pycrdt.XmlElement) and child.tag == "listItem"
            else _read_blocks([child])
            for child in element.children
        )
        return ListBlock(tag == "orderedList", start, items)
    return Paragraph(_read_inlines(element.children))


def _read_inlines(nodes: Iterable[_Node]) -> tuple[Inline, ...]:
    out: list[Inline] = []
    for node in nodes:
        if isinstance(node, pycrdt.XmlText):
            out.extend(
                Text(chunk, _read_marks(attrs))
                for chunk, attrs in node.diff()
                if isinstance(chunk, str) and chunk
            )
        elif _tag(node) == "hardBreak":
            out.append(Break())
        else:  # a block or unknown node inside inline content: keep its text
            out.extend(_read_inlines(node.children))
    return _merge_texts(out)


def _merge_texts(inlines: Iterable[Inline]) -> tuple[Inline, ...]:
    """Join neighbouring texts with the same marks (split by ychange, hashes, …)."""
    out: list[Inline] = []
    for item in inlines:
        last = out[-1] if out else None
        if isinstance(item, Text) and isinstance(last, Text) and last.marks == item.marks:
            out[-1] = Text(last.text + item.text, item.marks)
        else:
            out.append(item)
    return tuple(out)


def mark_name(attribute: str) -> str:
    """``link--FtV7yb4M`` → ``link``: drop y-prosemirror's overlapping-mark suffix."""
    head, sep, _ = attribute.rpartition("--")
    return head if sep and head else attribute


def _read_marks(attrs: Mapping[str, Any] | None) -> tuple[Mark, ...]:
    found: dict[str, Mark] = {}
    for key, value in sorted((attrs or {}).items()):
        name = mark_name(key)
        if name in found or name not in _MARK_RANK or value is None or value is False:
            continue
        if name == "link":
            href = safe_href(value.get("href")) if isinstance(value, Mapping) else None
            if href is not None:
                found[name] = (name, href)
        else:
            found[name] = (name, "")
    return tuple(sorted(found.values(), key=_mark_rank))


def _as_int(value: object, default: int) -> int:
    """JS numbers arrive as floats (2.0); strings are tolerated; anything else → default."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return default
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return default


def _as_language(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _trim_breaks(inlines: Sequence[Inline]) -> Sequence[Inline]:
    """Drop trailing hard breaks: Markdown cannot end a block with one."""
    end = len(inlines)
    while end and isinstance(inlines[end - 1], Break):
        end -= 1
    return inlines[:end]


def _plain(inlines: Iterable[Inline]) -> str:
    return "".join(item.text if isinstance(item, Text) else "\n" for item in inlines)


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_SAFE_SCHEMES: Final = frozenset({"http", "https", "mailto"})
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]")  # browsers strip/skip these in URLs


def safe_href(href: object) -> str | None:
    """The href to emit, or None when the link must be dropped.

    Allowed: http, https, mailto and relative URLs. The scheme is judged the way a
    browser would see it, after removing the control characters and spaces it ignores
    (so ``java\\tscript:`` is still ``javascript:``), and also after decoding character
    references, as a Markdown parser does (``javascript&colon;``).
    """
    if not isinstance(href, str):
        return None
    href = href.strip()
    if not href:
        return None
    for form in (href, html.unescape(href)):
        match = _SCHEME.match(_URL_IGNORED.sub("", form))
        if match is not None and match.group(1).lower() not in _SAFE_SCHEMES:
            return None
    return href


# ---------------------------------------------------------------------------
# Inline marks: turn runs of marked text into properly nested open/close events
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Open:
    mark: Mark


@dataclass(frozen=True, slots=True)
class _Close:
    mark: Mark


_Event: TypeAlias = _Open | _Close | Text | Break


def _mark_events(
    inlines: Iterable[Inline], marks_of: Callable[[Text], tuple[Mark, ...]]
) -> Iterator[_Event]:
    """Yield texts between open/close events that always nest; a break closes all marks."""
    stack: list[Mark] = []
    for item in inlines:
        wanted = sorted(marks_of(item), key=_mark_rank) if isinstance(item, Text) else []
        keep = 0
        while keep < len(stack) and stack[keep] in wanted:
            keep += 1
        for mark in reversed(stack[keep:]):
            yield _Close(mark)
        del stack[keep:]
        for mark in wanted:
            if mark not in stack:
                stack.append(mark)
                yield _Open(mark)
        yield item
    for mark in reversed(stack):
        yield _Close(mark)


def _mark_rank(mark: Mark) -> int:
    return _MARK_RANK[mark[0]]


def _all_marks(text: Text) -> tuple[Mark, ...]:
    return text.marks


# ---------------------------------------------------------------------------
# Shared block helpers
# ---------------------------------------------------------------------------


def _prefix_lines(text: str, first: str, rest: str) -> str:
    """Prefix the first line with ``first``, the others with ``rest``; empty lines get
    the prefix without its trailing spaces."""
    lines = text.split("\n")
    prefixes = [first] + [rest] * (len(lines) - 1)
    return "\n".join(
        p + line if line else p.rstrip() for p, line in zip(prefixes, lines, strict=True)
    )


def _list_marker(block: ListBlock, index: int, delimiter: str) -> str:
    return f"{block.start + index}{delimiter} " if block.ordered else f"{delimiter} "


def _join_item(blocks: Iterable[Block], render: Callable[[Block], str]) -> str:
    """Blocks of one list item, split by blank lines; a nested list follows a line tightly.

    Only a list that may interrupt a paragraph (CommonMark: bullets, or numbers from 1,
    first item not empty) is attached without a blank line.
    """
    out = ""
    for block in blocks:
        text = render(block)
        if text and out:
            out += "\n" if _is_tight_list(block) else "\n\n"
        out += text
    return out


def _is_tight_list(block: Block) -> bool:
    return (
        isinstance(block, ListBlock)
        and (not block.ordered or block.start == 1)
        and bool(block.items)
        and any(_text_block(b) for b in block.items[0])
    )


def _finish(parts: Iterable[str]) -> str:
    body = "\n\n".join(part for part in parts if part)
    return body + "\n" if body else ""


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------

_MD_ESCAPE = re.compile(r"[\\`*_\[\]<#~]|&(?=#?[0-9A-Za-z]+;)")
_MD_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_MD_LINE_START = re.compile(r"^(?:[-+=>]|\d+(?=[.)]))")
_MD_EMPHASIS: Final = {"bold": "**", "italic": "*", "strike": "~~"}
_MD_SPACE_ENTITY: Final = {" ": "&#32;", "\t": "&#9;"}


def render_markdown(fragment: pycrdt.XmlFragment) -> str:
    """CommonMark for the fragment: blocks split by one blank line, ends with one newline."""
    return markdown_from_blocks(read_fragment(fragment))


def markdown_from_blocks(blocks: Sequence[Block]) -> str:
    return _finish([_md_blocks(blocks)])


def _md_blocks(blocks: Sequence[Block], in_item: bool = False) -> str:
    """Blocks split by a blank line; in a list item, a list follows its line tightly."""
    out = ""
    previous: Block | None = None
    previous_alternate = False
    for block in blocks:
        # Two sibling lists of one kind would merge into one: switch the delimiter.
        alternate = (
            isinstance(block, ListBlock)
            and isinstance(previous, ListBlock)
            and block.ordered == previous.ordered
            and not previous_alternate
        )
        text = _md_block(block, alternate)
        if not text:
            continue
        if out:
            out += "\n" if in_item and _is_tight_list(block) else "\n\n"
        out += text
        previous, previous_alternate = block, alternate
    return out


def _md_block(block: Block, alternate: bool = False) -> str:
    match block:
        case Paragraph(content):
            return _md_inline(content)
        case Heading(level, content):
            text = _md_inline(content, hard_break=" ")  # an ATX heading is one line
            return f"{'#' * level} {text}".rstrip()
        case CodeBlock(language, text):
            return _md_code_block(language, text)
        case Rule():
            return "---"
        case Quote(blocks):
            return _prefix_lines(_md_blocks(blocks), "> ", "> ")
        case ListBlock():
            return _md_list(block, alternate)
    raise AssertionError(block)  # pragma: no cover


_MD_THEMATIC_BREAK = re.compile(r"([-*_])(?:[ \t]*\1){2,}[ \t]*")


def _md_list(block: ListBlock, alternate: bool) -> str:
    delimiter = (")" if alternate else ".") if block.ordered else ("*" if alternate else "-")
    bodies = [_md_blocks(blocks, in_item=True) for blocks in block.items]
    if not block.ordered and any(
        _MD_THEMATIC_BREAK.fullmatch(f"{delimiter} {body.partition(chr(10))[0]}") for body in bodies
    ):
        delimiter = "+"  # "- ---" or "- - -" would be read as a thematic break
    items = []
    for index, body in enumerate(bodies):
        marker = _list_marker(block, index, delimiter)
        items.append(_prefix_lines(body, marker, " " * len(marker)))
    return "\n".join(items)


def _md_code_block(language: str | None, text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    info = re.sub(r"[\s`]", "", language or "")
    body = text + "\n" if text else ""
    return f"{fence}{info}\n{body}{fence}"


def _md_code_span(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = text.startswith("`") or text.endswith("`")
    pad = pad or (text.startswith(" ") and text.endswith(" ") and text.strip(" ") != "")
    inner = f" {text} " if pad else text
    return f"{fence}{inner}{fence}"


def _md_escape_text(text: str, at_line_start: bool) -> str:
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        escaped = _MD_ESCAPE.sub(r"\\\g<0>", line)
        if i > 0 or at_line_start:
            escaped = _MD_LINE_START.sub(_md_escape_line_start, escaped)
        out.append(escaped)
    return "\n".join(out)


def _md_escape_line_start(match: re.Match[str]) -> str:
    """``1.`` → ``1\\.`` (the delimiter follows); ``-``, ``+``, ``=``, ``>`` → ``\\-`` …"""
    found = match.group(0)
    return found + "\\" if found[0].isdigit() else "\\" + found


def _md_marks(text: Text) -> tuple[Mark, ...]:
    """Marks that need delimiters around the text (code is rendered per text)."""
    return tuple(mark for mark in text.marks if mark[0] in _MD_EMPHASIS or mark[0] == "link")


@dataclass(frozen=True, slots=True)
class _Delimiter:
    """An emphasis delimiter in Markdown output: ``**``, ``*`` or ``~~``."""

    text: str
    span: int  # which open/close pair it belongs to
    opening: bool


_MD_HTML_FALLBACK: Final = {"bold": "strong", "italic": "em", "strike": "del"}


def _md_inline(inlines: Sequence[Inline], hard_break: str = "\\\n") -> str:
    """Inline Markdown. An emphasis whose delimiters CommonMark would not read as such
    (``a***~~b~~***``: a run next to punctuation inside a word) is written as inline
    HTML (``<strong>``, ``<em>``, ``<del>``) instead, so no stray ``*`` reaches the text.
    """
    texts = [
        Text(item.text, tuple(m for m in item.marks if m[0] != "underline"))
        if isinstance(item, Text)
        else item
        for item in _trim_breaks(_split_newlines(inlines))
    ]
    events = list(_mark_events(_merge_texts(texts), _md_marks))
    as_html: set[int] = set()
    while True:
        pieces = _md_drop_empty_spans(_md_shift_spaces(_md_pieces(events, hard_break, as_html)))
        bad = _md_unreadable_spans(pieces)
        if not bad:
            break
        as_html |= bad
    text = "".join(piece if isinstance(piece, str) else piece.text for piece in pieces)
    return _md_protect_edge_spaces(text)


def _split_newlines(inlines: Iterable[Inline]) -> list[Inline]:
    """A newline inside text (not a hardBreak node) becomes a hard break too."""
    out: list[Inline] = []
    for item in inlines:
        if isinstance(item, Text) and not item.text:
            continue
        if isinstance(item, Text) and "\n" in item.text:
            for i, line in enumerate(item.text.split("\n")):
                if i:
                    out.append(Break())
                if line:
                    out.append(Text(line, item.marks))
        else:
            out.append(item)
    return out


def _md_pieces(
    events: Iterable[_Event], hard_break: str, as_html: set[int]
) -> list[str | _Delimiter]:
    pieces: list[str | _Delimiter] = []
    open_spans: list[int] = []
    spans = 0
    at_line_start = True
    for event in events:
        match event:
            case _Open((name, _)):
                span, spans = spans, spans + 1
                open_spans.append(span)
                if name == "link":
                    last = pieces[-1] if pieces else None
                    if isinstance(last, str) and last.endswith("!"):
                        pieces[-1] = last[:-1] + "\\!"  # "![" would start an image
                    pieces.append("[")
                elif span in as_html:
                    pieces.append(f"<{_MD_HTML_FALLBACK[name]}>")
                else:
                    pieces.append(_Delimiter(_MD_EMPHASIS[name], span, opening=True))
            case _Close((name, href)):
                span = open_spans.pop()
                if name == "link":
                    pieces.append(f"]({_md_destination(href)})")
                elif span in as_html:
                    pieces.append(f"</{_MD_HTML_FALLBACK[name]}>")
                else:
                    pieces.append(_Delimiter(_MD_EMPHASIS[name], span, opening=False))
            case Text(text, marks):
                if ("code", "") in marks:
                    pieces.append(_md_code_span(text))
                else:
                    pieces.append(_md_escape_text(text, at_line_start))
                at_line_start = False
            case Break():
                pieces.append(hard_break)
                at_line_start = True
    return pieces


def _md_shift_spaces(pieces: Sequence[str | _Delimiter]) -> list[str | _Delimiter]:
    """Move spaces out of emphasis: ``** a **`` is not emphasis, `` **a** `` is.

    In each run of delimiters (closes first, then opens) the spaces before the closes
    and after the opens go between the two.
    """
    out = list(pieces)
    i = 0
    while i < len(out):
        if not isinstance(out[i], _Delimiter):
            i += 1
            continue
        j = i
        while j < len(out) and isinstance(out[j], _Delimiter):
            j += 1
        group = [piece for piece in out[i:j] if isinstance(piece, _Delimiter)]
        closes = [d for d in group if not d.opening]
        opens = [d for d in group if d.opening]
        moved = ""
        before = out[i - 1] if i else None
        if closes and isinstance(before, str):
            kept = before.rstrip(" \t")
            moved, out[i - 1] = before[len(kept) :], kept
        after = out[j] if j < len(out) else None
        if opens and isinstance(after, str):
            kept = after.lstrip(" \t")
            moved, out[j] = moved + after[: len(after) - len(kept)], kept
        out[i:j] = [*closes, *([moved] if moved else []), *opens]
        i = j + (1 if moved else 0)
    return out


def _md_drop_empty_spans(pieces: Sequence[str | _Delimiter]) -> list[str | _Delimiter]:
    """Remove empty strings, and delimiter pairs left with nothing between them."""
    out: list[str | _Delimiter] = []
    for piece in pieces:
        if piece == "":
            continue
        last = out[-1] if out else None
        if (
            isinstance(piece, _Delimiter)
            and isinstance(last, _Delimiter)
            and last.span == piece.span
        ):
            out.pop()
            continue
        out.append(piece)
    return out


def _md_unreadable_spans(pieces: Sequence[str | _Delimiter]) -> set[int]:
    """Spans with a delimiter run that CommonMark's flanking rules would not accept."""
    text = ""
    runs: list[tuple[int, int, list[_Delimiter]]] = []  # (start, end, delimiters)
    for piece in pieces:
        if isinstance(piece, str):
            text += piece
            continue
        last = runs[-1] if runs else None
        if last is not None and last[1] == len(text) and last[2][-1].text[0] == piece.text[0]:
            runs[-1] = (last[0], last[1] + len(piece.text), [*last[2], piece])
        else:
            runs.append((len(text), len(text) + len(piece.text), [piece]))
        text += piece.text
    bad: set[int] = set()
    for start, end, delimiters in runs:
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        opens = any(d.opening for d in delimiters)
        closes = not all(d.opening for d in delimiters)
        # A run that could both open and close (inside a word) may pair with the wrong
        # partner: only accept runs that can do just what we mean them to.
        left, right = _left_flanking(before, after), _left_flanking(after, before)
        if opens == closes or (opens and (not left or right)) or (closes and (left or not right)):
            bad.update(d.span for d in delimiters)
    return bad


def _left_flanking(before: str, after: str) -> bool:
    """CommonMark's left-flanking test for a run between ``before`` and ``after``
    (right-flanking is the mirror image: swap the two)."""
    return not after.isspace() and (
        not _is_punctuation(after) or before.isspace() or _is_punctuation(before)
    )


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _md_protect_edge_spaces(text: str) -> str:
    """Leading/trailing spaces of a line would be stripped (or make code): use entities."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line[:1] in _MD_SPACE_ENTITY:
            line = _MD_SPACE_ENTITY[line[0]] + line[1:]
        if line[-1:] in _MD_SPACE_ENTITY:
            line = line[:-1] + _MD_SPACE_ENTITY[line[-1]]
        lines[i] = line
    return "\n".join(lines)


def _md_destination(href: str) -> str:
    escaped = _MD_ENTITY.sub(r"\\&", href.replace("\\", "\\\\"))
    if re.search(r"[\s()<>]", href):
        return "<" + escaped.replace("<", "\\<").replace(">", "\\>") + ">"
    return escaped


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_HTML_TAGS: Final = {
    "bold": "strong",
    "italic": "em",
    "underline": "u",
    "strike": "s",
    "code": "code",
}


def render_html(fragment: pycrdt.XmlFragment) -> str:
    """Safe, semantic HTML: one block per line, every text and attribute escaped."""
    return html_from_blocks(read_fragment(fragment))


def html_from_blocks(blocks: Sequence[Block]) -> str:
    body = _html_blocks(blocks)
    return body + "\n" if body else ""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _html_blocks(blocks: Iterable[Block]) -> str:
    return "\n".join(_html_block(block) for block in blocks)


def _html_block(block: Block) -> str:
    match block:
        case Paragraph(content):
            return f"<p>{_html_inline(content)}</p>"
        case Heading(level, content):
            return f"<h{level}>{_html_inline(content)}</h{level}>"
        case CodeBlock(language, text):
            cls = f' class="language-{_esc(language)}"' if language else ""
            return f"<pre><code{cls}>{_esc(text)}</code></pre>"
        case Rule():
            return "<hr>"
        case Quote(blocks):
            return f"<blockquote>\n{_html_blocks(blocks)}\n</blockquote>"
        case ListBlock(ordered, start, items):
            tag = "ol" if ordered else "ul"
            opening = f'<ol start="{start}">' if ordered and start != 1 else f"<{tag}>"
            lis = "\n".join(f"<li>{_html_blocks(item)}</li>" for item in items)
            return f"{opening}\n{lis}\n</{tag}>"
    raise AssertionError(block)  # pragma: no cover


def _html_open(mark: Mark) -> str:
    name, href = mark
    if name == "link":
        return f'<a href="{_esc(href)}" rel="noopener noreferrer nofollow">'
    return f"<{_HTML_TAGS[name]}>"


def _html_close(mark: Mark) -> str:
    return "</a>" if mark[0] == "link" else f"</{_HTML_TAGS[mark[0]]}>"


def _html_inline(inlines: Iterable[Inline]) -> str:
    pieces: list[str] = []
    # A newline inside text shows as a line break in the editor (white-space: pre-wrap).
    for event in _mark_events(_split_newlines(inlines), _all_marks):
        match event:
            case _Open(mark):
                pieces.append(_html_open(mark))
            case _Close(mark):
                pieces.append(_html_close(mark))
            case Text(text):
                pieces.append(_esc(text))
            case Break():
                pieces.append("<br>")
    return "".join(pieces)


# ---------------------------------------------------------------------------
# Plain text
# ---------------------------------------------------------------------------


def render_text(fragment: pycrdt.XmlFragment) -> str:
    """Plain text: blocks split by blank lines, list items as "- " / "1. ", quotes as "> "."""
    return text_from_blocks(read_fragment(fragment))


def text_from_blocks(blocks: Sequence[Block]) -> str:
    return _finish([_text_blocks(blocks)])


def _text_blocks(blocks: Iterable[Block]) -> str:
    return "\n\n".join(part for part in (_text_block(block) for block in blocks) if part)


def _text_block(block: Block) -> str:
    match block:
        case Paragraph(content) | Heading(_, content):
            return _plain(_trim_breaks(_split_newlines(content)))
        case CodeBlock(_, text):
            return text
        case Rule():
            return "---"
        case Quote(blocks):
            inner = _text_blocks(blocks)
            return _prefix_lines(inner, "> ", "> ") if inner else ""
        case ListBlock():
            items = []
            for index, blocks in enumerate(block.items):
                marker = _list_marker(block, index, "." if block.ordered else "-")
                body = _join_item(blocks, _text_block)
                items.append(_prefix_lines(body, marker, " " * len(marker)))
            return "\n".join(items)
    raise AssertionError(block)  # pragma: no cover


# ---------------------------------------------------------------------------
# Entry points on a Doc
# ---------------------------------------------------------------------------

_RENDERERS: Final[dict[str, Callable[[Sequence[Block]], str]]] = {
    "markdown": markdown_from_blocks,
    "html": html_from_blocks,
    "text": text_from_blocks,
}


def render(doc: pycrdt.Doc[Any], fmt: str) -> str:
    """Render the note body held in ``doc`` as "markdown", "html" or "text"."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}") from None
    return renderer(read_fragment(doc.get(FRAGMENT_NAME, type=pycrdt.XmlFragment)))


def plain_text(doc: pycrdt.Doc[Any]) -> str:
    """The note's text for search indexing (same as ``render(doc, "text")``)."""
    return render(doc, "text")

"""Markdown in: a Markdown file becomes a note body, stored as y-prosemirror stores it.

The Markdown (CommonMark plus ``~~strike~~``, as :mod:`carnet.render` writes it)
is parsed with markdown-it-py into the renderer's model (:mod:`carnet.render`
``Block``/``Inline``), then written into the ``default`` XmlFragment of a fresh
pycrdt Doc the way y-prosemirror writes a Tiptap document: one XmlElement per
node named after the node type (``level`` and ``start`` as floats, null
attributes left out), one XmlText per run of text whose attributes are the
marks (``bold: {}``, ``link: {"href": …}``). XmlText offsets count UTF-8 bytes.

A YAML front matter (``---`` … ``---``) may give the title, type and licence;
only top-level ``key: value`` lines are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

import pycrdt
from markdown_it import MarkdownIt
from markdown_it.token import Token

from carnet.render import (
    FRAGMENT_NAME,
    Block,
    Break,
    CodeBlock,
    Heading,
    Inline,
    ListBlock,
    Paragraph,
    Quote,
    Rule,
    Text,
    safe_href,
)

Mark = tuple[str, str]

_MARK_RANK: Final = {"link": 0, "bold": 1, "italic": 2, "underline": 3, "strike": 4, "code": 5}
LINK_ATTRS: Final = {"target": "_blank", "rel": "noopener noreferrer nofollow", "class": None}

_parser = MarkdownIt("commonmark", {"html": True}).enable("strikethrough")

# Inline HTML tags that carry a mark (the renderer falls back to them).
_HTML_MARKS: Final = {
    "strong": "bold",
    "b": "bold",
    "em": "italic",
    "i": "italic",
    "del": "strike",
    "s": "strike",
    "strike": "strike",
    "u": "underline",
    "code": "code",
}
_HTML_TAG = re.compile(r"^<(/?)([A-Za-z]+)\s*/?>$")


# Front matter --------------------------------------------------------------------

_FRONT_MATTER = re.compile(
    r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S
)
_KEY_VALUE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")


def split_front_matter(source: str) -> tuple[dict[str, str], str]:
    """Top-level scalar ``key: value`` pairs of a YAML front matter, and the body after it."""
    match = _FRONT_MATTER.match(source)
    if match is None:
        return {}, source.removeprefix("\ufeff")
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        found = _KEY_VALUE.match(line)
        if found is None or not found.group(2):
            continue
        meta[found.group(1)] = _scalar(found.group(2))
    return meta, source[match.end() :]


def _scalar(raw: str) -> str:
    if raw.startswith('"'):
        try:
            value = json.loads(raw)
        except ValueError:
            return raw.strip('"')
        return value if isinstance(value, str) else str(value)
    if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
        return raw[1:-1].replace("''", "'")
    return raw.split(" #", 1)[0].strip()


# Markdown → model ------------------------------------------------------------------


def parse_markdown(source: str) -> tuple[Block, ...]:
    tokens = _parser.parse(source)
    blocks, _ = _blocks(tokens, 0, None)
    return tuple(blocks)


def _blocks(tokens: Sequence[Token], i: int, closing: str | None) -> tuple[list[Block], int]:
    out: list[Block] = []
    while i < len(tokens):
        token = tokens[i]
        kind = token.type
        if closing is not None and kind == closing:
            return out, i + 1
        if kind == "paragraph_open":
            out.append(Paragraph(_inlines(tokens[i + 1].children or [])))
            i += 3
        elif kind == "heading_open":
            level = int(token.tag[1:]) if token.tag[1:].isdigit() else 1
            out.append(Heading(level, _inlines(tokens[i + 1].children or [])))
            i += 3
        elif kind in ("bullet_list_open", "ordered_list_open"):
            ordered = kind == "ordered_list_open"
            start = token.attrs.get("start", 1)
            items: list[tuple[Block, ...]] = []
            i += 1
            while i < len(tokens) and tokens[i].type == "list_item_open":
                item, i = _blocks(tokens, i + 1, "list_item_close")
                items.append(tuple(item))
            i += 1  # the list's closing token
            out.append(
                ListBlock(ordered, int(start) if isinstance(start, int | str) else 1, tuple(items))
            )
        elif kind == "blockquote_open":
            inner, i = _blocks(tokens, i + 1, "blockquote_close")
            out.append(Quote(tuple(inner)))
        elif kind in ("fence", "code_block"):
            info = token.info.split()
            text = token.content[:-1] if token.content.endswith("\n") else token.content
            out.append(CodeBlock(info[0] if info and kind == "fence" else None, text))
            i += 1
        elif kind == "hr":
            out.append(Rule())
            i += 1
        elif kind == "html_block":
            text = token.content.rstrip("\n")
            if text:
                out.append(Paragraph((Text(text),)))
            i += 1
        else:
            i += 1
    return out, i


def _sorted(marks: Sequence[Mark]) -> tuple[Mark, ...]:
    unique: dict[str, Mark] = {}
    for mark in marks:
        unique.setdefault(mark[0], mark)
    return tuple(sorted(unique.values(), key=lambda mark: _MARK_RANK[mark[0]]))


def _inlines(children: Sequence[Token]) -> tuple[Inline, ...]:
    active: list[Mark | None] = []  # None: an unsafe link, kept as plain text
    out: list[Inline] = []

    def marks(*extra: Mark) -> tuple[Mark, ...]:
        return _sorted([m for m in active if m is not None] + list(extra))

    def close(name: str) -> None:
        for index in range(len(active) - 1, -1, -1):
            mark = active[index]
            if (mark[0] if mark else "link") == name:
                del active[index]
                return

    for token in children:
        kind = token.type
        if kind == "text":
            out.append(Text(token.content, marks()))
        elif kind == "code_inline":
            out.append(Text(token.content, marks(("code", ""))))
        elif kind == "softbreak":
            out.append(Text(" ", marks()))
        elif kind == "hardbreak":
            out.append(Break())
        elif kind in ("strong_open", "em_open", "s_open"):
            active.append(
                ({"strong_open": "bold", "em_open": "italic", "s_open": "strike"}[kind], "")
            )
        elif kind in ("strong_close", "em_close", "s_close"):
            close({"strong_close": "bold", "em_close": "italic", "s_close": "strike"}[kind])
        elif kind == "link_open":
            href = safe_href(token.attrs.get("href"))
            active.append(("link", href) if href is not None else None)
        elif kind == "link_close":
            close("link")
        elif kind == "image":
            alt = token.content or str(token.attrs.get("src", ""))
            href = safe_href(token.attrs.get("src"))
            out.append(Text(alt, marks(("link", href)) if href else marks()))
        elif kind == "html_inline":
            tag = _HTML_TAG.match(token.content.strip())
            name = tag.group(2).lower() if tag else ""
            if tag and name == "br":
                out.append(Break())
            elif tag and name in _HTML_MARKS:
                if tag.group(1):
                    close(_HTML_MARKS[name])
                else:
                    active.append((_HTML_MARKS[name], ""))
            else:
                out.append(Text(token.content, marks()))
    return _merge(out)


def _merge(inlines: Sequence[Inline]) -> tuple[Inline, ...]:
    out: list[Inline] = []
    for item in inlines:
        last = out[-1] if out else None
        if isinstance(item, Text) and not item.text:
            continue
        if isinstance(item, Text) and isinstance(last, Text) and last.marks == item.marks:
            out[-1] = Text(last.text + item.text, item.marks)
        else:
            out.append(item)
    return tuple(out)


# Model → pycrdt -------------------------------------------------------------------------


def _mark_attributes(marks: Sequence[Mark]) -> dict[str, Any] | None:
    attributes: dict[str, Any] = {}
    for name, value in marks:
        attributes[name] = {"href": value, **LINK_ATTRS} if name == "link" else {}
    return attributes or None


def _write_inlines(parent: pycrdt.XmlElement, inlines: Sequence[Inline]) -> None:
    text: pycrdt.XmlText | None = None
    offset = 0
    for item in inlines:
        if isinstance(item, Break):
            parent.children.append(pycrdt.XmlElement("hardBreak"))
            text = None
            continue
        if not item.text:
            continue
        if text is None:
            text = parent.children.append(pycrdt.XmlText())
            offset = 0
        text.insert(offset, item.text, _mark_attributes(item.marks))
        offset += len(item.text.encode())  # XmlText offsets count UTF-8 bytes


def _element(
    parent: pycrdt.XmlFragment | pycrdt.XmlElement,
    tag: str,
    attributes: dict[str, Any] | None = None,
) -> pycrdt.XmlElement:
    element: pycrdt.XmlElement = parent.children.append(pycrdt.XmlElement(tag))
    for key, value in (attributes or {}).items():
        element.attributes[key] = value
    return element


def _write_blocks(parent: pycrdt.XmlFragment | pycrdt.XmlElement, blocks: Sequence[Block]) -> None:
    for block in blocks:
        match block:
            case Paragraph(content):
                _write_inlines(_element(parent, "paragraph"), content)
            case Heading(level, content):
                _write_inlines(_element(parent, "heading", {"level": float(level)}), content)
            case CodeBlock(language, text):
                element = _element(
                    parent, "codeBlock", {"language": language} if language else None
                )
                if text:
                    element.children.append(pycrdt.XmlText()).insert(0, text)
            case Rule():
                _element(parent, "horizontalRule")
            case Quote(inner):
                _write_blocks(_element(parent, "blockquote"), inner or (Paragraph(()),))
            case ListBlock(ordered, start, items):
                tag = "orderedList" if ordered else "bulletList"
                element = _element(parent, tag, {"start": float(start)} if ordered else None)
                for item in items or ((),):
                    item_blocks: list[Block] = list(item)
                    if not item_blocks or not isinstance(item_blocks[0], Paragraph):
                        item_blocks.insert(0, Paragraph(()))  # Tiptap: a listItem opens with one
                    _write_blocks(_element(element, "listItem"), item_blocks)


def blocks_to_doc(blocks: Sequence[Block]) -> pycrdt.Doc[Any]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    fragment = doc.get(FRAGMENT_NAME, type=pycrdt.XmlFragment)
    with doc.transaction():
        _write_blocks(fragment, blocks)
    return doc


def markdown_to_doc(source: str) -> pycrdt.Doc[Any]:
    """A Markdown body (no front matter) as a fresh note document."""
    return blocks_to_doc(parse_markdown(source))


def first_heading(blocks: Sequence[Block]) -> str | None:
    for block in blocks:
        if isinstance(block, Heading) and block.level == 1:
            return "".join(item.text for item in block.content if isinstance(item, Text)).strip()
    return None

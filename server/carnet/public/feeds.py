"""Atom feeds (RFC 4287) of published notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    authors: Sequence[str]
    content_html: str
    summary: str = ""
    categories: Sequence[str] = field(default_factory=tuple)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = _xml_safe(text)
    return element


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot hold most control characters, even escaped."""
    return "".join(
        char
        for char in text
        if char in "\t\n\r"
        or ("\x20" <= char <= "\ud7ff")
        or ("\ue000" <= char <= "\ufffd")
        or char >= "\U00010000"
    )


def atom_feed(
    *,
    feed_id: str,
    title: str,
    self_url: str,
    alternate_url: str,
    entries: Sequence[FeedEntry],
    subtitle: str = "",
    language: str = "fr",
) -> bytes:
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": language})
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    if subtitle:
        _text(feed, "subtitle", subtitle)
    newest = max((entry.updated for entry in entries), default=datetime.now(UTC))
    _text(feed, "updated", _when(newest))
    ET.SubElement(feed, "link", {"rel": "self", "type": "application/atom+xml", "href": self_url})
    ET.SubElement(feed, "link", {"rel": "alternate", "type": "text/html", "href": alternate_url})
    author = ET.SubElement(feed, "author")
    _text(author, "name", "Carnet")
    _text(feed, "generator", "Carnet")
    for entry in entries:
        item = ET.SubElement(feed, "entry")
        _text(item, "id", entry.id)
        _text(item, "title", entry.title)
        ET.SubElement(item, "link", {"rel": "alternate", "type": "text/html", "href": entry.link})
        _text(item, "published", _when(entry.published))
        _text(item, "updated", _when(entry.updated))
        for name in entry.authors:
            person = ET.SubElement(item, "author")
            _text(person, "name", name)
        for term in entry.categories:
            ET.SubElement(item, "category", {"term": _xml_safe(term)})
        if entry.summary:
            _text(item, "summary", entry.summary)
        _text(item, "content", entry.content_html, type="html")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body

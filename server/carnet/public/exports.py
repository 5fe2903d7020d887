"""Notes and carnets out: Markdown with front matter, standalone HTML, text, ZIP, JSON."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from carnet.i18n import Language
from carnet.models import Carnet
from carnet.public import yaml
from carnet.public.citations import praxis
from carnet.public.messages import messages
from carnet.public.templating import licence_name, licence_url, render_template
from carnet.public.views import NoteView, permalink

NOTE_FORMATS = ("markdown", "html", "text")
CARNET_FORMATS = ("zip", "html", "json")
MEDIA_TYPES = {
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "text": "text/plain; charset=utf-8",
    "zip": "application/zip",
    "json": "application/json",
}
EXTENSIONS = {"markdown": "md", "html": "html", "text": "txt", "zip": "zip", "json": "json"}


def slug(text: str, fallback: str = "note") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return words[:60].rstrip("-") or fallback


def attachment(filename: str) -> str:
    """A Content-Disposition value for a download (RFC 6266, with an ASCII fallback)."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "-", fallback) or "export"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


# One note ------------------------------------------------------------------------------


def front_matter(view: NoteView, base_url: str) -> dict[str, object]:
    return {
        "title": view.title,
        "id": view.id,
        "url": view.url,
        "type": view.type,
        "status": view.status,
        "version": view.version,
        "authors": [author.name for author in view.authors],
        "created": view.created_at,
        "updated": view.updated_at,
        "published": view.first_published_at,
        "licence": view.licence,
        "carnets": [
            {
                "id": place.carnet_id,
                "title": place.carnet_title,
                "category": place.category,
                "added_by": place.added_by,
                "added": place.added_at,
            }
            for place in view.places
        ],
        "categories": view.categories,
        "links": [
            {
                "id": link.note_id,
                "title": link.title,
                "kind": link.kind,
                "url": permalink(base_url, link.note_id),
            }
            for link in view.links
        ],
    }


def note_markdown(view: NoteView, base_url: str) -> str:
    return f"---\n{yaml.dump(front_matter(view, base_url))}---\n\n{view.body('markdown')}"


def note_text(view: NoteView, language: Language) -> str:
    t = messages(language)
    lines = [view.title, "=" * min(len(view.title), 72), ""]
    lines.append(f"{t['authors']} : {', '.join(a.name for a in view.authors)}")
    if view.first_published_at:
        lines.append(f"{t['published']} : {view.first_published_at.date().isoformat()}")
    lines.append(f"{t['licence']} : {licence_name(view.licence)}")
    lines.append(view.url)
    return "\n".join(lines) + "\n\n" + view.body("text")


def note_html(view: NoteView, language: Language) -> str:
    """A standalone HTML document (its own small stylesheet, no script)."""
    return render_template(
        "export_note.html",
        view=view,
        body=Markup(view.body("html")),  # noqa: S704 - the renderer escapes and sanitizes
        t=messages(language),
        lang=language,
        citation=praxis(view.cited(), language),
        licence_href=licence_url(view.licence, language),
    )


def export_note(view: NoteView, fmt: str, language: Language, base_url: str) -> str:
    if fmt == "markdown":
        return note_markdown(view, base_url)
    if fmt == "html":
        return note_html(view, language)
    return note_text(view, language)


# A carnet -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """A note of a carnet as exported: its view and its place in the carnet."""

    view: NoteView
    category: str | None
    pinned: bool
    position: int


def carnet_url(base_url: str, carnet_id: str) -> str:
    return f"{base_url.rstrip('/')}/carnets/{carnet_id}"


def _carnet_meta(carnet: Carnet, base_url: str) -> dict[str, object]:
    return {
        "title": carnet.title,
        "id": carnet.id,
        "url": carnet_url(base_url, carnet.id),
        "description": carnet.description,
        "event": carnet.event_name,
        "event_start": carnet.event_start,
        "event_end": carnet.event_end,
        "place": carnet.event_place,
        "visibility": str(carnet.visibility),
        "categories": carnet.categories,
        "exported": datetime.now(UTC).replace(microsecond=0),
    }


def carnet_zip(
    carnet: Carnet, entries: Sequence[Entry], base_url: str, language: Language
) -> bytes:
    """``index.md`` (the carnet and its notes in order) and ``notes/NNN-title.md``."""
    t = messages(language)
    buffer = io.BytesIO()
    index = [f"---\n{yaml.dump(_carnet_meta(carnet, base_url))}---\n", f"# {carnet.title}\n"]
    if carnet.description:
        index.append(carnet.description.strip() + "\n")
    index.append(f"## {t['notes']}\n")
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, entry in enumerate(entries, start=1):
            name = f"notes/{number:03d}-{slug(entry.view.title)}.md"
            archive.writestr(name, note_markdown(entry.view, base_url))
            authors = ", ".join(a.name for a in entry.view.authors)
            category = f" ({entry.category})" if entry.category else ""
            title = entry.view.title.replace("[", "\\[").replace("]", "\\]")
            index.append(f"{number}. [{title}]({name}) — {authors}{category}")
        archive.writestr("index.md", "\n".join(index) + "\n")
    return buffer.getvalue()


def carnet_book(carnet: Carnet, entries: Sequence[Entry], language: Language) -> str:
    """One HTML document holding the carnet's published notes, with a table of contents."""
    return render_template(
        "book.html",
        carnet=carnet,
        entries=[
            {
                "entry": entry,
                "anchor": f"note-{entry.view.id}",
                "body": Markup(entry.view.body("html")),  # noqa: S704 - sanitized by the renderer
                "citation": praxis(entry.view.cited(), language),
            }
            for entry in entries
        ],
        t=messages(language),
        lang=language,
    )


def carnet_json(carnet: Carnet, entries: Sequence[Entry], base_url: str) -> dict[str, Any]:
    return {
        "carnet": _carnet_meta(carnet, base_url),
        "notes": [
            {
                **front_matter(entry.view, base_url),
                "category": entry.category,
                "pinned": entry.pinned,
                "position": entry.position,
                "markdown": entry.view.body("markdown"),
                "html": entry.view.body("html"),
                "text": entry.view.body("text"),
            }
            for entry in entries
        ],
    }

"""How to cite a note: the Praxis form, APA, BibTeX, RIS and CSL-JSON.

Pure functions of a :class:`Cited` note, so every format has golden tests.
The Praxis form is the one shown under a published note::

    Maryse Gervais, Marie-Hélène Laurence, Alice Rivard. (2024). Titre. Carnet
    (consulté le 21 avril 2025), https://…/n/ID

Names are split into family and given names with a simple rule (the last word
is the family name, with the lowercase particles before it: "de La Fontaine"),
since accounts only carry a display name.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from carnet.dates import MONTHS_EN, MONTHS_FR, format_date
from carnet.i18n import Language

SITE_NAME = "Carnet"
FORMATS = ("praxis", "apa", "bibtex", "ris", "csl-json")
MEDIA_TYPES = {
    "praxis": "text/plain; charset=utf-8",
    "apa": "text/plain; charset=utf-8",
    "bibtex": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
    "csl-json": "application/vnd.citationstyles.csl+json; charset=utf-8",
}
EXTENSIONS = {"praxis": "txt", "apa": "txt", "bibtex": "bib", "ris": "ris", "csl-json": "json"}


@dataclass(frozen=True, slots=True)
class Cited:
    note_id: str
    title: str
    authors: tuple[str, ...]
    published: date | None  # None: never published ("s. d.")
    url: str
    accessed: date
    carnet: str | None = None  # the first carnet holding the note, if any
    language: str = "fr"


# Names ---------------------------------------------------------------------------

_PARTICLES = frozenset(
    {"de", "du", "des", "d'", "d’", "la", "le", "van", "von", "der", "den", "da", "di", "del"}
)


def split_name(name: str) -> tuple[str, str]:
    """(family, given) of a display name; a single word is a family name alone."""
    words = name.split()
    if len(words) <= 1:
        return name.strip(), ""
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return " ".join(words[start:]), " ".join(words[:start])


def initials(given: str) -> str:
    """ "Marie-Hélène" → "M.-H.", "Jean Paul" → "J. P."."""
    parts = []
    for word in given.split():
        pieces = [piece for piece in word.split("-") if piece]
        parts.append("-".join(piece[0].upper() + "." for piece in pieces))
    return " ".join(parts)


def _ends_sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!", "…")) else text + "."


def _year(cited: Cited, language: Language) -> str:
    if cited.published is None:
        return "n.d." if language == "en" else "s. d."
    return str(cited.published.year)


# The Praxis form -------------------------------------------------------------------


def praxis(cited: Cited, language: Language = "fr") -> str:
    """``Author1, Author2, Author3. (YEAR). Title. Carnet (consulté le DATE), URL``."""
    consulted = (
        f"accessed {format_date(cited.accessed, 'en')}"
        if language == "en"
        else f"consulté le {format_date(cited.accessed, 'fr')}"
    )
    head = f"{_ends_sentence(', '.join(cited.authors))} " if cited.authors else ""
    title = _ends_sentence(cited.title)
    if not cited.authors:
        return f"{title} ({_year(cited, language)}). {SITE_NAME} ({consulted}), {cited.url}"
    return f"{head}({_year(cited, language)}). {title} {SITE_NAME} ({consulted}), {cited.url}"


# APA 7 -----------------------------------------------------------------------------


def _apa_name(name: str) -> str:
    family, given = split_name(name)
    return f"{family}, {initials(given)}" if given else family


def _apa_authors(names: tuple[str, ...], language: Language) -> str:
    listed = [_apa_name(name) for name in names]
    if len(listed) == 1:
        return listed[0]
    if len(listed) > 20:
        return ", ".join(listed[:19]) + ", … " + listed[-1]
    if language == "en":
        return ", ".join(listed[:-1]) + ", & " + listed[-1]
    return ", ".join(listed[:-1]) + " et " + listed[-1]


def apa(cited: Cited, language: Language = "fr") -> str:
    """APA 7 for a web page whose content may change (with a retrieval date)."""
    if cited.published is None:
        when = _year(cited, language)
    elif language == "en":
        day = cited.published
        when = f"{day.year}, {MONTHS_EN[day.month - 1]} {day.day}"
    else:
        day = cited.published
        when = f"{day.year}, {day.day} {MONTHS_FR[day.month - 1]}"
    if language == "en":
        retrieved = f"Retrieved {format_date(cited.accessed, 'en')}, from {cited.url}"
    else:
        retrieved = f"Consulté le {format_date(cited.accessed, 'fr')}, à {cited.url}"
    title = _ends_sentence(cited.title)
    if not cited.authors:
        return f"{title} ({when}). {SITE_NAME}. {retrieved}"
    authors = _ends_sentence(_apa_authors(cited.authors, language))
    return f"{authors} ({when}). {title} {SITE_NAME}. {retrieved}"


# BibTeX ----------------------------------------------------------------------------

_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "\u00a0": "~",
    "\u202f": "~",
    "’": "'",
    "‘": "`",
    "“": "``",
    "”": "''",
    "«": r"{\guillemotleft}",
    "»": r"{\guillemotright}",
    "–": "--",
    "—": "---",
    "…": r"{\ldots}",
    "œ": r"{\oe}",
    "Œ": r"{\OE}",
    "æ": r"{\ae}",
    "Æ": r"{\AE}",
    "ø": r"{\o}",
    "Ø": r"{\O}",
    "ß": r"{\ss}",
    "ł": r"{\l}",
    "Ł": r"{\L}",
    "å": r"{\aa}",
    "Å": r"{\AA}",
}
# Combining mark → accent command; letters (\c, \v, …) take a braced argument.
_BIBTEX_ACCENTS = {
    "\u0301": "'",
    "\u0300": "`",
    "\u0302": "^",
    "\u0308": '"',
    "\u0303": "~",
    "\u0304": "=",
    "\u0307": ".",
    "\u0327": "c",
    "\u030c": "v",
    "\u030a": "r",
    "\u0306": "u",
    "\u030b": "H",
    "\u0328": "k",
}


def bibtex_escape(text: str) -> str:
    """Text for a BibTeX field: LaTeX specials escaped (braces stay balanced), accented
    Latin letters as accent commands (``é`` → ``{\\'e}``), other characters as UTF-8."""
    out: list[str] = []
    for char in " ".join(text.split()):
        if char in _BIBTEX_SPECIAL:
            out.append(_BIBTEX_SPECIAL[char])
            continue
        decomposed = unicodedata.normalize("NFD", char)
        base, marks = decomposed[0], decomposed[1:]
        if marks and base.isascii() and base.isalpha() and all(m in _BIBTEX_ACCENTS for m in marks):
            letter = {"i": r"\i", "j": r"\j"}.get(base, base)
            for mark in marks:
                command = _BIBTEX_ACCENTS[mark]
                letter = f"\\{command}{{{letter}}}" if command.isalpha() else f"\\{command}{letter}"
            out.append("{" + letter + "}")
        else:
            out.append(char)
    return "".join(out)


_LIGATURES = str.maketrans(
    {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L"}
)


def _ascii_word(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode().lower())


_STOP_WORDS = frozenset(
    {"le", "la", "les", "un", "une", "des", "de", "du", "the", "a", "an", "of", "l", "d"}
)


def bibtex_key(cited: Cited) -> str:
    family = _ascii_word(split_name(cited.authors[0])[0]) if cited.authors else ""
    words = [_ascii_word(w) for w in re.split(r"[\s'’\-]+", cited.title)]
    word = next((w for w in words if w and w not in _STOP_WORDS and not w.isdigit()), "")
    year = str(cited.published.year) if cited.published else "nd"
    return f"{family or 'carnet'}{year}{word or 'note'}"


_BIBTEX_MONTHS = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)


def _bibtex_name(name: str) -> str:
    family, given = split_name(name)
    if not given:  # one word, or an organisation: kept whole
        return "{" + bibtex_escape(family) + "}"
    return f"{bibtex_escape(family)}, {bibtex_escape(given)}"


def bibtex(cited: Cited, language: Language = "fr") -> str:
    authors = " and ".join(_bibtex_name(name) for name in cited.authors)
    consulted = (
        f"Accessed {format_date(cited.accessed, 'en')}"
        if language == "en"
        else f"Consulté le {format_date(cited.accessed, 'fr')}"
    )
    fields: list[tuple[str, str]] = []
    if authors:
        fields.append(("author", "{" + authors + "}"))
    fields.append(("title", "{{" + bibtex_escape(cited.title) + "}}"))
    if cited.published is not None:
        fields.append(("year", "{" + str(cited.published.year) + "}"))
        fields.append(("month", _BIBTEX_MONTHS[cited.published.month - 1]))
        fields.append(("date", "{" + cited.published.isoformat() + "}"))
    fields.append(("howpublished", "{" + SITE_NAME + "}"))
    if cited.carnet:
        fields.append(("organization", "{" + bibtex_escape(cited.carnet) + "}"))
    url = re.sub(r"[\s{}]", "", cited.url)
    fields.append(("url", "{" + url + "}"))
    fields.append(("urldate", "{" + cited.accessed.isoformat() + "}"))
    fields.append(("note", "{" + bibtex_escape(consulted) + "}"))
    fields.append(("language", "{english}" if cited.language == "en" else "{french}"))
    width = max(len(name) for name, _ in fields)
    body = ",\n".join(f"  {name.ljust(width)} = {value}" for name, value in fields)
    return f"@misc{{{bibtex_key(cited)},\n{body}\n}}\n"


# RIS ---------------------------------------------------------------------------------


def _ris_value(text: str) -> str:
    return " ".join(text.split())


def ris(cited: Cited, language: Language = "fr") -> str:
    """RIS (one ``TAG  - value`` per line, CRLF line ends, UTF-8)."""
    lines = [("TY", "ELEC")]
    for name in cited.authors:
        family, given = split_name(name)
        lines.append(("AU", f"{family}, {given}" if given else family))
    lines.append(("TI", cited.title))
    if cited.published is not None:
        lines.append(("PY", str(cited.published.year)))
        lines.append(("DA", cited.published.strftime("%Y/%m/%d")))
    lines.append(("PB", SITE_NAME))
    if cited.carnet:
        lines.append(("T2", cited.carnet))
    lines.append(("UR", cited.url))
    lines.append(("Y2", cited.accessed.strftime("%Y/%m/%d")))
    lines.append(("LA", cited.language))
    lines.append(("ID", cited.note_id))
    text = "".join(f"{tag}  - {_ris_value(value)}\r\n" for tag, value in lines)
    return text + "ER  - \r\n"


# CSL-JSON ------------------------------------------------------------------------------


def csl_item(cited: Cited) -> dict[str, object]:
    authors: list[dict[str, str]] = []
    for name in cited.authors:
        family, given = split_name(name)
        authors.append({"family": family, "given": given} if given else {"literal": family})
    item: dict[str, object] = {
        "id": cited.note_id,
        "type": "webpage",
        "title": cited.title,
        "author": authors,
        "container-title": SITE_NAME,
        "publisher": SITE_NAME,
        "URL": cited.url,
        "accessed": {
            "date-parts": [[cited.accessed.year, cited.accessed.month, cited.accessed.day]]
        },
        "language": cited.language,
    }
    if cited.carnet:
        item["collection-title"] = cited.carnet
    if cited.published is not None:
        day = cited.published
        item["issued"] = {"date-parts": [[day.year, day.month, day.day]]}
    return item


def csl_json(cited: Cited, language: Language = "fr") -> str:
    return json.dumps([csl_item(cited)], ensure_ascii=False, indent=2) + "\n"


_RENDERERS = {"praxis": praxis, "apa": apa, "bibtex": bibtex, "ris": ris, "csl-json": csl_json}


def cite(cited: Cited, fmt: str, language: Language = "fr") -> str:
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown citation format {fmt!r}") from None
    return renderer(cited, language)

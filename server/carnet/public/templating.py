"""The Jinja environment of the public pages (autoescaping on, own templates folder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from carnet.dates import format_date, format_datetime
from carnet.i18n import Language

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STATIC_PATH = "/public-static"

LICENCES: dict[str, tuple[str, str]] = {
    "CC-BY-4.0": ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "CC-BY-SA-4.0": ("CC BY-SA 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "CC-BY-NC-4.0": ("CC BY-NC 4.0", "https://creativecommons.org/licenses/by-nc/4.0/"),
    "CC-BY-NC-SA-4.0": ("CC BY-NC-SA 4.0", "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
    "CC-BY-ND-4.0": ("CC BY-ND 4.0", "https://creativecommons.org/licenses/by-nd/4.0/"),
    "CC-BY-NC-ND-4.0": ("CC BY-NC-ND 4.0", "https://creativecommons.org/licenses/by-nc-nd/4.0/"),
    "CC0-1.0": ("CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
}


def licence_name(code: str) -> str:
    return LICENCES.get(code, (code, ""))[0]


def licence_url(code: str, language: Language | None = "fr") -> str | None:
    """The licence's page in the reader's language (``None``: its canonical URL)."""
    url = LICENCES.get(code, ("", ""))[1]
    if not url or language is None:
        return url or None
    return url + ("deed.fr" if language == "fr" else "deed.en")


def json_for_script(data: Any) -> Markup:
    """JSON to embed in a ``<script type="application/ld+json">`` element: no ``<``,
    ``>`` or ``&`` can close the element or start markup."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for this context


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["date"] = format_date
environment.filters["datetime"] = format_datetime
environment.globals["licence_name"] = licence_name
environment.globals["licence_url"] = licence_url
environment.globals["static"] = lambda name: f"{STATIC_PATH}/{name}"


def render_template(name: str, **context: Any) -> str:
    return environment.get_template(name).render(**context)

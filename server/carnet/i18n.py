"""The reader's language: French unless they chose or prefer English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Language = Literal["fr", "en"]
LANGUAGE_COOKIE = "carnet_lang"


def request_language(headers: Mapping[str, str], cookies: Mapping[str, str]) -> Language:
    chosen = cookies.get(LANGUAGE_COOKIE)
    if chosen in ("fr", "en"):
        return "en" if chosen == "en" else "fr"
    best: tuple[float, Language] = (0.0, "fr")
    for part in headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower()[:2]
        if primary in ("fr", "en") and quality > best[0]:
            best = (quality, "en" if primary == "en" else "fr")
    return best[1]

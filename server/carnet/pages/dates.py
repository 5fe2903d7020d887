"""Dates as a reader says them: "25 février 2025 à 14 h 28", "February 25, 2025 at 2:28 PM".

The browser formats instants in the reader's own time zone (``static/src/i18n.js``
holds the twin of these rules); the server formats what has no time zone,
such as a gathering's dates.
"""

from __future__ import annotations

from datetime import date, datetime

from carnet.i18n import Language

MONTHS = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def format_date(day: date, language: Language) -> str:
    month = MONTHS[language][day.month - 1]
    if language == "en":
        return f"{month} {day.day}, {day.year}"
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {month} {day.year}"


def format_datetime(moment: datetime, language: Language) -> str:
    """Wall-clock time of ``moment`` as given (convert to the reader's zone first)."""
    if language == "en":
        hour = moment.hour % 12 or 12
        suffix = "AM" if moment.hour < 12 else "PM"
        return f"{format_date(moment, language)} at {hour}:{moment.minute:02d} {suffix}"
    return f"{format_date(moment, language)} à {moment.hour} h {moment.minute:02d}"


def format_span(start: date | None, end: date | None, language: Language) -> str:
    """A gathering's dates: one day, or from one day to another."""
    if start is None:
        return format_date(end, language) if end else ""
    if end is None or end == start:
        return format_date(start, language)
    if language == "en":
        return f"{format_date(start, language)} – {format_date(end, language)}"
    return f"du {format_date(start, language)} au {format_date(end, language)}"

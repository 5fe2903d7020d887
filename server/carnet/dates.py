"""Dates as readers read them, in French or in English.

Times are shown in the gatherings' time zone (Quebec's, ``America/Toronto``):
"25 février 2025 à 14 h 28", "February 25, 2025 at 2:28 PM".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carnet.i18n import Language


def _zone() -> tzinfo:
    try:
        return ZoneInfo("America/Toronto")
    except ZoneInfoNotFoundError:  # pragma: no cover - a system without tzdata
        return UTC


ZONE = _zone()

MONTHS_FR = (
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
)
MONTHS_EN = (
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
)


def local(moment: datetime) -> datetime:
    return moment.astimezone(ZONE)


def local_day(moment: datetime | date) -> date:
    return local(moment).date() if isinstance(moment, datetime) else moment


def format_date(moment: datetime | date, language: Language) -> str:
    """ "1er mars 2025", "25 février 2025"; "March 1, 2025"."""
    day = local_day(moment)
    if language == "en":
        return f"{MONTHS_EN[day.month - 1]} {day.day}, {day.year}"
    ordinal = "1er" if day.day == 1 else str(day.day)
    return f"{ordinal} {MONTHS_FR[day.month - 1]} {day.year}"


def format_datetime(moment: datetime, language: Language) -> str:
    """ "25 février 2025 à 14 h 28"; "February 25, 2025 at 2:28 PM"."""
    when = local(moment)
    if language == "en":
        hour = when.hour % 12 or 12
        half = "AM" if when.hour < 12 else "PM"
        return f"{format_date(when, 'en')} at {hour}:{when.minute:02d} {half}"
    return f"{format_date(when, 'fr')} à {when.hour} h {when.minute:02d}"


def today() -> date:
    return datetime.now(ZONE).date()


def format_span(start: date | None, end: date | None, language: Language) -> str:
    """A gathering's dates: one day, or from one day to another."""
    if start is None:
        return format_date(end, language) if end else ""
    if end is None or end == start:
        return format_date(start, language)
    if language == "en":
        return f"{format_date(start, language)} – {format_date(end, language)}"
    return f"du {format_date(start, language)} au {format_date(end, language)}"

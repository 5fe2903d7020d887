"""A small YAML writer for front matter: mappings, lists and scalars.

Strings are written as double-quoted scalars, the JSON form (which YAML reads
the same way), with the few characters YAML 1.1 treats as line breaks or as
non-printable escaped too; dates and times are plain ISO timestamps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime

_UNSAFE = re.compile("[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def scalar(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = json.dumps(str(value), ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def dump(data: Mapping[str, object], indent: int = 0) -> str:
    lines: list[str] = []
    _mapping(data, indent, lines)
    return "\n".join(lines) + "\n"


def _mapping(data: Mapping[str, object], indent: int, lines: list[str], first: str = "") -> None:
    pad = " " * indent
    for index, (key, value) in enumerate(data.items()):
        lead = first if index == 0 and first else pad
        if isinstance(value, Mapping):
            if not value:
                lines.append(f"{lead}{key}: {{}}")
                continue
            lines.append(f"{lead}{key}:")
            _mapping(value, indent + 2, lines)
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            if not value:
                lines.append(f"{lead}{key}: []")
                continue
            lines.append(f"{lead}{key}:")
            _sequence(value, indent + 2, lines)
        else:
            lines.append(f"{lead}{key}: {scalar(value)}")


def _sequence(items: Sequence[object], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, Mapping) and item:
            _mapping(item, indent + 2, lines, first=f"{pad}- ")
        else:
            lines.append(f"{pad}- {scalar(item)}")

"""Errors people can read, in French and in English.

Handlers and storage raise :class:`AppError`; the app turns it into a JSON
body ``{"detail", "code", "messages": {"fr", "en"}}`` whose ``detail`` is in
the language the request asked for (French unless it prefers English). No
other exception text ever reaches a client.
"""

from __future__ import annotations

from carnet.permissions import Verdict


class AppError(Exception):
    def __init__(self, status: int, code: str, fr: str, en: str) -> None:
        super().__init__(en)
        self.status = status
        self.code = code
        self.fr = fr
        self.en = en


def not_found(what_fr: str = "Introuvable", what_en: str = "Not found") -> AppError:
    return AppError(404, "not_found", what_fr, what_en)


def invalid(code: str, fr: str, en: str) -> AppError:
    return AppError(400, code, fr, en)


def conflict(code: str, fr: str, en: str) -> AppError:
    return AppError(409, code, fr, en)


def refused(verdict: Verdict) -> AppError:
    """The error for a permission verdict other than ALLOW."""
    if verdict is Verdict.NOT_FOUND:
        return not_found()
    if verdict is Verdict.UNAUTHENTICATED:
        return AppError(401, "unauthenticated", "Veuillez vous connecter.", "Please sign in.")
    return AppError(
        403,
        "forbidden",
        "Vous n’avez pas la permission de faire ceci.",
        "You are not allowed to do this.",
    )

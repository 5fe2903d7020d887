"""Identifiers and secrets.

Public identifiers are short, url-safe and random (never sequential, so they
reveal nothing about how many things exist). Secrets handed to people —
session cookies, API tokens, invitation links — are stored only as hashes.
"""

from __future__ import annotations

import hashlib
import secrets


def new_id() -> str:
    """A 12-character url-safe identifier (72 random bits)."""
    return secrets.token_urlsafe(9)


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> bytes:
    # The secrets carry 256 random bits, so a plain SHA-256 is enough; a slow
    # hash is only needed for passwords (see carnet.auth.passwords).
    return hashlib.sha256(secret.encode()).digest()

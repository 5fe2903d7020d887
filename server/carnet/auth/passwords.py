"""Password hashing with Argon2id, off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from carnet.errors import invalid

MIN_LENGTH = 8
MAX_LENGTH = 1024

_hasher = PasswordHasher()
# Verifying against this when the email is unknown makes a missing account take
# as long as a wrong password, so timing does not reveal who has an account.
_DUMMY_HASH = _hasher.hash("carnet-dummy-password")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise invalid(
            "password_too_short",
            f"Le mot de passe doit compter au moins {MIN_LENGTH} caractères.",
            f"The password must have at least {MIN_LENGTH} characters.",
        )
    if len(password) > MAX_LENGTH:
        raise invalid(
            "password_too_long",
            f"Le mot de passe ne peut dépasser {MAX_LENGTH} caractères.",
            f"The password cannot exceed {MAX_LENGTH} characters.",
        )


def hash_password_sync(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    check_strength(password)
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    return await asyncio.to_thread(_verify, stored_hash, password)

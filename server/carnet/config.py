"""Settings, read from the environment once at start-up.

Every operator-facing knob lives here and is documented in README.md
(section "Configuration"); nothing else in the code reads the environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

import msgspec


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    allowed_origins: tuple[str, ...] = ()
    signup_enabled: bool = True
    session_days: int = 30
    login_attempts_per_minute: int = 10
    max_body_bytes: int = 1_048_576
    db_pool_size: int = 10

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.base_url).scheme == "https"

    @property
    def origins(self) -> frozenset[str]:
        """Origins allowed to use cookie sessions (CSRF and WebSocket checks)."""
        parts = urlsplit(self.base_url)
        return frozenset({f"{parts.scheme}://{parts.netloc}", *self.allowed_origins})


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, not {value}")
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    base_url = (get("CARNET_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    if urlsplit(base_url).scheme not in {"http", "https"}:
        raise ConfigError(f"CARNET_BASE_URL must start with http:// or https://, not {base_url!r}")
    origins = tuple(
        origin.strip().rstrip("/")
        for origin in (get("CARNET_ALLOWED_ORIGINS") or "").split(",")
        if origin.strip()
    )
    # Without a configured key, sessions still work but do not survive a
    # restart of every process; the CLI warns about it.
    secret_key = get("CARNET_SECRET_KEY") or secrets.token_urlsafe(32)
    settings = Settings(
        database_url=get("CARNET_DATABASE_URL"),
        redis_url=get("CARNET_REDIS_URL"),
        secret_key=secret_key,
        base_url=base_url,
        allowed_origins=origins,
    )
    overrides: dict[str, object] = {}
    if (raw := get("CARNET_SIGNUP_ENABLED")) is not None:
        overrides["signup_enabled"] = _flag("CARNET_SIGNUP_ENABLED", raw)
    for field in ("session_days", "login_attempts_per_minute", "max_body_bytes", "db_pool_size"):
        name = f"CARNET_{field.upper()}"
        if (raw := get(name)) is not None:
            overrides[field] = _positive_int(name, raw)
    return msgspec.structs.replace(settings, **overrides)

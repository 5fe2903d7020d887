"""Entry point for ASGI servers: ``uvicorn --factory carnet.asgi:create_app_from_environment``."""

from __future__ import annotations

from litestar import Litestar

from carnet.app import create_app
from carnet.config import load_settings


def create_app_from_environment() -> Litestar:
    return create_app(load_settings())

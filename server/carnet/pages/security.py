"""Security headers on every HTTP answer: a strict CSP, no framing, a referrer policy.

Pages carry no inline script: code comes from ``/static``, and page data sits
in ``<script type="application/json">`` blocks, which browsers never execute.
Styles come from ``/static`` too; scripts may still set ``element.style``
(CSSOM), which CSP does not govern. The OpenAPI viewer under ``/schema`` loads
its own scripts from elsewhere and only gets the headers that do not break it.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        # 'self' covers ws:/wss: to this host in CSP level 3 browsers.
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())


def security_headers(app: ASGIApp) -> ASGIApp:
    """ASGI middleware adding the headers to HTTP responses that lack them."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        extra = list(_COMMON)
        if not scope["path"].startswith("/schema"):
            extra.append(_CSP)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware

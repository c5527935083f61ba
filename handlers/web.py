"""The browser client: ``/`` and its static files from ``web/``, with security headers.

The client is plain JavaScript modules served as they are (no build step);
it talks to Arena only through the public REST API and the match socket.
Errors here are JSON, as everywhere (``handlers.base.JSONErrors``).  Every
response here carries a Content-Security-Policy that allows scripts,
styles and connections from this origin only (no inline script or style),
forbids framing, and turns off MIME sniffing.
"""

from __future__ import annotations

from pathlib import Path

from tornado.web import RequestHandler, StaticFileHandler

from handlers.base import JSONErrors

WEB = Path(__file__).resolve().parent.parent / "web"

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def secure(handler: RequestHandler) -> None:
    for name, value in SECURITY_HEADERS.items():
        handler.set_header(name, value)


class PageHandler(JSONErrors):
    """``/``: the single page; the client routes by the URL's fragment."""

    def set_default_headers(self) -> None:
        secure(self)

    def get(self) -> None:
        self.finish(self.page().read_bytes())

    def head(self) -> None:
        self.set_header("Content-Length", str(self.page().stat().st_size))
        self.finish()

    def page(self) -> Path:
        """The page's file, its headers set."""
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        return WEB / "index.html"


class AssetHandler(JSONErrors, StaticFileHandler):
    """``/static/<file>``: the client's scripts, styles and images."""

    def set_default_headers(self) -> None:
        secure(self)

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")  # revalidated: no stale client


#: (path pattern, handler, arguments), added to the application beside the API.
WEB_ROUTES = [
    (r"/", PageHandler, {}),
    (r"/static/(.*)", AssetHandler, {"path": str(WEB)}),
]

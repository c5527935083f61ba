"""Operations: health, metrics and the OpenAPI document."""

from __future__ import annotations

from handlers.base import BaseHandler
from handlers.context import AppContext
from handlers.openapi import document, operation

TAG = "operations"


class HealthHandler(BaseHandler):
    openapi = {"get": operation("Liveness and database reachability", tag=TAG,
                                responses=(200, 503))}

    async def prepare(self) -> None:
        pass  # health needs no body, no credentials and must not touch the database twice

    async def get(self) -> None:
        if await self.ctx.store.ping():
            self.send({"status": "ok", "db": "ok"})
        else:
            self.send({"status": "unavailable", "db": "unreachable"}, 503)


class OpenAPIHandler(BaseHandler):
    openapi = {"get": operation("This OpenAPI 3.1 document", tag=TAG)}

    def initialize(self, context: AppContext, routes: list[tuple[str, type]]) -> None:  # type: ignore[override]
        super().initialize(context)
        self.routes = routes

    async def prepare(self) -> None:
        pass

    def get(self) -> None:
        self.send(document(self.routes))


class MetricsHandler(BaseHandler):
    """Prometheus text exposition of what the server counts."""

    openapi = {"get": operation("Prometheus metrics (text)", tag=TAG)}

    async def prepare(self) -> None:
        pass

    def get(self) -> None:
        lines = ["# TYPE arena_http_requests_total counter"]
        for (method, status), count in sorted(self.ctx.http_requests.items()):
            lines.append(
                f'arena_http_requests_total{{method="{method}",status="{status}"}} {count}'
            )
        lines += self.ctx.sockets.lines()
        for collect in self.ctx.collectors:
            lines.extend(collect())
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish("\n".join(lines) + "\n")

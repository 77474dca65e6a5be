"""One pure ASGI middleware: request id, structured access log, Prometheus metrics."""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from typing import Any

from creditlines import metrics

log = logging.getLogger("creditlines.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    root = logging.getLogger("creditlines")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.propagate = False
    root.setLevel(level.upper())


class Observability:
    def __init__(self, app) -> None:
        self.app = app
        # Request ids: a random per-process prefix and a counter (no urandom call, no formatting
        # beyond the counter's digits per request).
        self._prefix = os.urandom(6).hex() + "-"
        self._counter = itertools.count(1)
        self._children: dict[tuple[str, str, str], tuple[Any, ...]] = {}  # metric children by labels

    def _metrics(self, method: str, template: str, status: int) -> tuple[Any, ...]:
        key = (method, template, str(status))
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                metrics.HTTP_REQUESTS.labels(*key),
                metrics.HTTP_LATENCY.labels(method, template),
            )
        return children

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:100]
                break
        request_id = request_id or self._prefix + str(next(self._counter))
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode("latin-1")))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            method = scope["method"]
            requests, latency = self._metrics(method, template, status)
            requests.inc()
            latency.observe(elapsed)
            if template not in ("/metrics", "/healthz") and log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": request_id,
                            "method": method,
                            "path": scope["path"],
                            "route": template,
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 2),
                        }
                    },
                )

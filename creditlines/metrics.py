"""Prometheus metrics of the service and its jobs, and who may read them.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before
start (``creditlines serve`` makes one when metrics are on and it is unset): every worker then
writes its samples there and ``/metrics`` aggregates them.

Exposure (SPEC §15): off by default. ``CREDITLINES_METRICS_TOKEN`` serves ``/metrics`` on the
API port to ``Authorization: Bearer <token>`` only; ``CREDITLINES_METRICS_PORT`` serves it on its
own port instead (:func:`serve`, started once by ``creditlines serve``, in the parent of the
workers), behind the token too when both are set. Any other caller gets the very 404 an unknown
path gets.
"""

from __future__ import annotations

import hmac
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

HTTP_REQUESTS = Counter("creditlines_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "creditlines_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DRAWINGS = Counter(
    "creditlines_drawings_total",
    "Drawings by outcome (accepted, replayed or the refusal code)",
    ["distributor_id", "outcome"],
)
GRANTS = Counter(
    "creditlines_grants_total", "Programme grant outcomes (enrolments and purchase events)", ["programme_id", "outcome"]
)
TRANSACTION_RETRIES = Counter(
    "creditlines_transaction_retries_total",
    "Transactions run again after a deadlock or serialization failure",
    ["sqlstate"],
)
GROUP_COMMIT_SIZE = Histogram(
    "creditlines_group_commit_size",
    "Drawings posted per database call (group commit, PostgreSQL): 1 at low load, more when they queue",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
GROUP_COMMIT_SPLITS = Counter(
    "creditlines_group_commit_splits_total",
    "Grouped calls that failed as a whole, their drawings then posted one by one",
)
GROUP_COMMIT_SKIPPED = Counter(
    "creditlines_group_commit_skipped_total",
    "Drawings whose reseller another transaction held when their call came, posted again in a call that waits for it",
)
EXPIRY_RUNS = Counter("creditlines_expiry_runs_total", "Expiry job runs", ["distributor_id", "dry_run"])
EXPIRY_LINES = Counter("creditlines_expiry_lines_expired_total", "Lines expired by the job", ["distributor_id"])
EXPIRY_TRANSFERRED = Counter(
    "creditlines_expiry_transferred_minor_total", "Minor units moved to base lines by the job", ["distributor_id"]
)

REPLICA_LAG = Gauge(
    "creditlines_read_replica_lag_seconds",
    "How far the read replica is behind the primary (0: it has replayed all it received)",
    multiprocess_mode="livemax",
)
REPLICA_UP = Gauge(
    "creditlines_read_replica_up",
    "1 when the read replica answered its last probe, 0 when its reads went to the primary",
    multiprocess_mode="livemin",
)
REPLICA_FALLBACKS = Counter(
    "creditlines_read_replica_fallbacks_total", "Times the read replica did not answer and reads went to the primary"
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def render() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY

    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def authorized(authorization: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header carries the metrics token (compared in constant time)."""
    if not token or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


# The body of the API's 404 for an unknown path: what a caller without the token sees.
NOT_FOUND = json.dumps(
    {
        "type": "https://creditlines.dev/problems/not_found",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
        "code": "not_found",
    },
    separators=(",", ":"),
).encode()


class _Handler(BaseHTTPRequestHandler):
    token: str | None = None

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/metrics" and (
            self.token is None or authorized(self.headers.get("Authorization"), self.token)
        ):
            body, content_type = render()
            self._answer(200, body, content_type)
        else:
            self._answer(404, NOT_FOUND, "application/problem+json")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:  # scrapes are not access-logged, like /metrics on the API port
        pass


def serve(host: str, port: int, token: str | None = None) -> ThreadingHTTPServer:
    """Serve ``GET /metrics`` on ``host:port`` from a daemon thread of this process; every other
    request (and, with a token, every request without it) gets a 404."""
    handler = type("MetricsHandler", (_Handler,), {"token": token})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


WEBHOOK_DELIVERIES = Counter(
    "creditlines_webhook_deliveries_total", "Webhook delivery attempts by outcome (delivered, failed)", ["outcome"]
)
WEBHOOK_DISABLED = Counter(
    "creditlines_webhook_disabled_total", "Webhook endpoints disabled after failing for the whole retry window"
)
WEBHOOK_LATENCY = Histogram(
    "creditlines_webhook_delivery_seconds",
    "Webhook POST duration (any outcome)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOK_LAG = Gauge(
    "creditlines_webhook_lag_seconds",
    "Age of the oldest undelivered event of any active endpoint (max over endpoints; grows while one waits)",
    multiprocess_mode="max",
)
WEBHOOK_WAITING = Gauge(
    "creditlines_webhook_waiting_endpoints",
    "Active endpoints with at least one undelivered event, at the sender's last look",
    multiprocess_mode="max",
)
WEBHOOK_FAILING = Gauge(
    "creditlines_webhook_failing_endpoints",
    "Endpoints this sender last found failing (in their retry window)",
    multiprocess_mode="max",
)

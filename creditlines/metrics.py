"""Prometheus metrics of the service and its jobs.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before
start: every worker then writes its samples there and ``/metrics`` aggregates them.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess

HTTP_REQUESTS = Counter("creditlines_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "creditlines_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DRAWINGS = Counter("creditlines_drawings_total", "Drawings by outcome (accepted, replayed or the refusal code)",
                   ["distributor_id", "outcome"])
GRANTS = Counter("creditlines_grants_total", "Programme grant outcomes (enrolments and purchase events)",
                 ["programme_id", "outcome"])
EXPIRY_RUNS = Counter("creditlines_expiry_runs_total", "Expiry job runs", ["distributor_id", "dry_run"])
EXPIRY_LINES = Counter("creditlines_expiry_lines_expired_total", "Lines expired by the job", ["distributor_id"])
EXPIRY_TRANSFERRED = Counter("creditlines_expiry_transferred_minor_total",
                             "Minor units moved to base lines by the job", ["distributor_id"])


def render() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST

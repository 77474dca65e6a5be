#!/usr/bin/env python3
"""What the synchronous standby, a second instance and the read replica cost or bring, measured
on a pg_auto_failover formation on local ports (docs/SCALING.md).

    .venv/bin/python -m scripts.bench.ha_cost [--duration 10] [--repeat 3]

Needs `wrk` and `pg_autoctl`. Measures, alternately and --repeat times (medians reported):
drawings and eligibility checks through `creditlines serve --workers 2` on the multi-host URL with
the primary waiting for its synchronous standby (`synchronous_commit = on`, as shipped) and with
`synchronous_commit = local` (the same formation, nothing waited for); then two instances of one
worker each, loaded at once, against one instance of two workers. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench.api_load import RESELLERS, free_port, seed, start, stop, wrk  # noqa: E402
from scripts.fault.formation import formation  # noqa: E402


def serve(url: str, workers: int) -> tuple[Any, int]:
    port = free_port()
    env = {**os.environ, "CREDITLINES_DATABASE_URL": url, "CREDITLINES_LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "creditlines", "serve", "--port", str(port), "--workers", str(workers), "--no-migrate"]
    return start(cmd, env, port), port


def set_commit(primary_url: str, level: str) -> None:
    with psycopg.connect(primary_url, autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET synchronous_commit = '{level}'")
        conn.execute("SELECT pg_reload_conf()")
    time.sleep(1)  # every backend reads the new setting at its next statement


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    d, c = opts.duration, opts.connections
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.uname().nodename}, {os.cpu_count()} cores",
        "command": " ".join(["scripts/bench/ha_cost.py", *sys.argv[1:]]),
    }
    ports = (free_port(), free_port(), free_port())
    with formation(ports, fast_detection=False) as f:
        url = f.service_url()
        key = seed(url)
        load = {"KEY": key, "RESELLERS": str(RESELLERS)}
        primary = f.primary_url()
        result["standby"] = f.synchronous("node1")
        proc, port = serve(url, 2)
        try:
            for script in ("eligibility.lua", "drawings.lua"):
                wrk(port, script, duration=2, connections=c, env=load)  # warm-up
            runs: dict[str, list[dict[str, Any]]] = {}
            for _ in range(opts.repeat):
                for level in ("on", "local"):
                    set_commit(primary, level)
                    for script in ("drawings.lua", "eligibility.lua"):
                        runs.setdefault(f"{script[:-4]}_sync_{level}", []).append(
                            wrk(port, script, duration=d, connections=c, env=load)
                        )
            set_commit(primary, "on")
        finally:
            stop(proc)

        def drawings(p: int, connections: int) -> dict[str, Any]:
            return wrk(p, "drawings.lua", duration=d, connections=connections, env=load)

        two = [serve(url, 1), serve(url, 1)]
        try:
            for _, p in two:
                wrk(p, "drawings.lua", duration=2, connections=c // 2, env=load)
            for _ in range(opts.repeat):
                with ThreadPoolExecutor(2) as pool:
                    both = list(pool.map(lambda p: drawings(p, c // 2), [two[0][1], two[1][1]]))
                runs.setdefault("drawings_two_instances_of_one_worker", []).append(
                    {"rps": sum(r["rps"] for r in both), "p99_ms": max(r.get("p99_ms", 0) for r in both)}
                )
        finally:
            for proc2, _ in two:
                stop(proc2)
    result["medians"] = {
        name: {
            "rps": statistics.median(r["rps"] for r in rs),
            "p99_ms": statistics.median(r.get("p99_ms", 0) for r in rs),
        }
        for name, rs in runs.items()
    }
    result["runs"] = runs
    print(json.dumps(result))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What the outbox costs drawings on PostgreSQL, measured side by side (issue 12).

Two databases seeded alike, two `creditlines serve` of this checkout, run at the same time and
loaded alternately by wrk (drawings.lua, as api_load.py): one with migration 0005's drawing
function (which writes drawing.created and the alerts in its statement), the other with the
function of migration 0002 put back (no event). Everything else is identical, so the ratio
of their throughputs is the outbox's cost, with the drift of a shared machine falling on both.

    .venv/bin/python scripts/bench/outbox_cost.py [--duration 10] [--rounds 5] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
from creditlines.db import sqlfiles  # noqa: E402
from scripts.bench.api_load import RESELLERS, SERVER, free_port, seed, start, stop, wrk  # noqa: E402


def draw_0002() -> str:
    return sqlfiles.load("creditlines_draw_0002").replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    opts = parser.parse_args()
    name = f"creditlines_bench_outbox_{os.getpid()}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = f"{SERVER.rsplit('/', 1)[0]}/{name}"
    url = dsn.replace("postgresql://", "postgresql+psycopg://")
    procs = []
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()}, {os.cpu_count()} cores, CPython {platform.python_version()}",
        "command": " ".join(["scripts/bench/outbox_cost.py", *sys.argv[1:]]),
        "connections": opts.connections,
        "workers": opts.workers,
        "duration_s": opts.duration,
    }
    try:
        key = seed(url)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}_no_events" TEMPLATE "{name}"')
        with psycopg.connect(f"{dsn}_no_events", autocommit=True) as conn:
            conn.execute(draw_0002())
        ports = {}
        for side, db in (("outbox", url), ("no_events", f"{url}_no_events")):
            ports[side] = free_port()
            env = {**os.environ, "CREDITLINES_DATABASE_URL": db, "CREDITLINES_LOG_LEVEL": "WARNING"}
            procs.append(
                start(
                    [
                        sys.executable,
                        "-m",
                        "creditlines",
                        "serve",
                        "--port",
                        str(ports[side]),
                        "--workers",
                        str(opts.workers),
                        "--no-migrate",
                    ],
                    env,
                    ports[side],
                )
            )
        load = {"KEY": key, "RESELLERS": str(RESELLERS)}
        for port in ports.values():
            wrk(port, "drawings.lua", duration=3, connections=opts.connections, env=load)
        runs = []
        for n in range(opts.rounds):
            order = ("no_events", "outbox") if n % 2 == 0 else ("outbox", "no_events")
            run = {
                side: wrk(ports[side], "drawings.lua", duration=opts.duration, connections=opts.connections, env=load)
                for side in order
            }
            runs.append(run)
        with psycopg.connect(dsn) as conn:
            results["events_written"] = conn.execute(
                "SELECT count(*) FROM event WHERE type = 'drawing.created'"
            ).fetchone()[0]
        results["runs"] = runs
        results["median_rps"] = {side: statistics.median(r[side]["rps"] for r in runs) for side in ports}
        results["median_p99_ms"] = {side: statistics.median(r[side]["p99_ms"] for r in runs) for side in ports}
        results["ratio_median"] = round(statistics.median(r["outbox"]["rps"] / r["no_events"]["rps"] for r in runs), 3)
    finally:
        for proc in procs:
            stop(proc)
        with psycopg.connect(SERVER, autocommit=True) as conn:
            for suffix in ("", "_no_events"):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}{suffix}" WITH (FORCE)')
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

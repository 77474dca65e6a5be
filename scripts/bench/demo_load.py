#!/usr/bin/env python3
"""The demo-load budget of issue 6: `creditlines demo` into an empty database, timed, then verified.

    .venv/bin/python scripts/bench/demo_load.py [--size default|large] [--database sqlite|postgresql]

Budgets: default ≤ 60 s, large (~1,000,000 ledger entries) ≤ 10 min. Prints JSON: the wall time
and peak RSS of the load (GNU time), the ledger entries written, and `creditlines verify`'s exit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("CREDITLINES_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def creditlines(args: list[str], url: str, *, timed: bool = False) -> tuple[subprocess.CompletedProcess, float]:
    command = [sys.executable, "-m", "creditlines", *args]
    if timed:
        command = ["/usr/bin/time", "-f", "PEAK_RSS_KB %M", *command]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "CREDITLINES_DATABASE_URL": url}
    )
    return done, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=["default", "large"], default="default")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    opts = parser.parse_args()
    name = f"creditlines_bench_demo_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        if opts.database == "sqlite":
            url = f"sqlite:///{tmp}/demo.db"
        else:
            with psycopg.connect(SERVER, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = f"postgresql+psycopg://{SERVER.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
        try:
            migrated, _ = creditlines(["migrate"], url)
            if migrated.returncode:
                raise SystemExit(migrated.stderr[-2000:])
            loaded, seconds = creditlines(["demo", "--size", opts.size], url, timed=True)
            if loaded.returncode:
                raise SystemExit(loaded.stderr[-2000:])
            peak = re.search(r"PEAK_RSS_KB (\d+)", loaded.stderr)
            verified, verify_seconds = creditlines(["verify"], url)
            if opts.database == "sqlite":
                import sqlite3

                with sqlite3.connect(f"{tmp}/demo.db") as conn:
                    entries = conn.execute("SELECT count(*) FROM ledger_entry").fetchone()[0]
            else:
                with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
                    entries = conn.execute("SELECT count(*) FROM ledger_entry").fetchone()[0]
        finally:
            if opts.database == "postgresql":
                with psycopg.connect(SERVER, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    budget = 60 if opts.size == "default" else 600
    print(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{platform.node()}, {os.cpu_count()} cores, CPython {platform.python_version()}",
                "command": " ".join(["scripts/bench/demo_load.py", *sys.argv[1:]]),
                "size": opts.size,
                "database": opts.database,
                "load_seconds": round(seconds, 1),
                "budget_seconds": budget,
                "met": seconds <= budget,
                "peak_rss_mb": round(int(peak.group(1)) / 1024) if peak else None,
                "ledger_entries": entries,
                "verify_exit": verified.returncode,
                "verify_seconds": round(verify_seconds, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

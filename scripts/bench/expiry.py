#!/usr/bin/env python3
"""Benchmark of the nightly expiry (issue budget: 1,000,000 lines, 100,000 expiring,
≤ 60 s and ≤ 300 MB on PostgreSQL; a second run ≤ 5 s).

Builds a scratch database with set-based SQL (200,000 resellers, a base line and four
programme lines each; 100,000 programme lines ended yesterday, half of them still drawn,
with consistent drawings, allocations and ledger entries), then runs `creditlines expire`
as an operator would, twice, and `creditlines verify`. Prints one JSON object.

    .venv/bin/python scripts/bench/expiry.py [--resellers 200000] [--expiring 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

SERVER = os.environ.get("CREDITLINES_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def build(url_psycopg: str, resellers: int, expiring: int, today: date) -> None:
    yesterday, later = today - timedelta(days=1), today + timedelta(days=90)
    at = datetime.now(UTC) - timedelta(days=30)
    with psycopg.connect(url_psycopg, autocommit=True) as c:
        c.execute("INSERT INTO distributor VALUES ('bench', 'Bench', 'EUR', 'Europe/Paris', %s)", (at,))
        c.execute("INSERT INTO vendor VALUES ('microsoft', 'Microsoft', %s)", (at,))
        c.execute(
            """INSERT INTO programme (distributor_id, vendor_id, id, code, name, kind, line_limit_minor, starts_on,
                     ends_on, usable_for, on_expiry, status, created_at, updated_at)
                     VALUES ('bench', 'microsoft', 'mezz@bench', 'mezz', 'Mezz', 'standing', 500000, %s, %s, 'any',
                     'transfer_to_base', 'active', %s, %s)""",
            (today - timedelta(days=60), later, at, at),
        )
        params = {
            "n": resellers,
            "x": expiring,
            "at": at,
            "y": yesterday,
            "l": later,
            "from": today - timedelta(days=30),
        }
        steps = [
            (
                "resellers",
                """INSERT INTO reseller SELECT 'bench', 'R-' || lpad(i::text, 7, '0'), 'Reseller ' || i, 'active',
                NULL, CASE WHEN i <= %(x)s AND i %% 2 = 0 THEN 8 ELSE 6 END, %(at)s, %(at)s
                FROM generate_series(1, %(n)s) i""",
            ),
            (
                "base lines",
                """INSERT INTO line SELECT 'bench', 'b-' || i, 'R-' || lpad(i::text, 7, '0'), 'base', NULL, NULL,
                'bench', 1000000, 0, %(from)s, NULL, 'any', NULL, 'active', %(at)s, 2, NULL
                FROM generate_series(1, %(n)s) i""",
            ),
            (
                "programme lines",
                """INSERT INTO line SELECT 'bench', 'p' || k || '-' || i, 'R-' || lpad(i::text, 7, '0'),
                'programme', 'mezz@bench', 'microsoft', 'microsoft', 500000,
                CASE WHEN k = 1 AND i <= %(x)s AND i %% 2 = 0 THEN 50000 ELSE 0 END, %(from)s,
                CASE WHEN k = 1 AND i <= %(x)s THEN %(y)s::date ELSE %(l)s::date END, 'any', 'transfer_to_base',
                'active', %(at)s, 2 + k, NULL
                FROM generate_series(1, %(n)s) i, generate_series(1, 4) k""",
            ),
            (
                "drawings",
                """INSERT INTO drawing SELECT 'bench', 'R-' || lpad(i::text, 7, '0'), 'D-' || i, 50000, 50000,
                NULL, 'open', %(at)s, 'bench', %(at)s::date, %(at)s::date + 30
                FROM generate_series(2, %(x)s, 2) i""",
            ),
            (
                "allocations",
                """INSERT INTO allocation SELECT 'bench', 'R-' || lpad(i::text, 7, '0'), 'D-' || i, 'p1-' || i,
                'microsoft', 50000, 50000, 0 FROM generate_series(2, %(x)s, 2) i""",
            ),
            (
                "ledger: resellers",
                """INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, status_after)
                SELECT 'bench', 'R-' || lpad(i::text, 7, '0'), 1, %(at)s, 'bench', 'reseller_created', 'active'
                FROM generate_series(1, %(n)s) i""",
            ),
            (
                "ledger: base lines",
                """INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, line_id,
                drawn_delta_minor, limit_after_minor, status_after)
                SELECT 'bench', 'R-' || lpad(i::text, 7, '0'), 2, %(at)s, 'bench', 'line_opened', 'b-' || i, 0, 1000000,
                'active' FROM generate_series(1, %(n)s) i""",
            ),
            (
                "ledger: programme lines",
                """INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, line_id,
                drawn_delta_minor, limit_after_minor, valid_until_after, status_after)
                SELECT 'bench', 'R-' || lpad(i::text, 7, '0'), 2 + k, %(at)s, 'bench', 'line_opened',
                'p' || k || '-' || i, 0, 500000,
                CASE WHEN k = 1 AND i <= %(x)s THEN %(y)s::date ELSE %(l)s::date END, 'active'
                FROM generate_series(1, %(n)s) i, generate_series(1, 4) k""",
            ),
            (
                "ledger: drawings",
                """INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind,
                drawing_reference, amount_minor)
                SELECT 'bench', 'R-' || lpad(i::text, 7, '0'), 7, %(at)s, 'bench', 'drawing_posted', 'D-' || i, 50000
                FROM generate_series(2, %(x)s, 2) i""",
            ),
            (
                "ledger: allocations",
                """INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, line_id,
                drawing_reference, drawn_delta_minor)
                SELECT 'bench', 'R-' || lpad(i::text, 7, '0'), 8, %(at)s, 'bench', 'drawing_allocated', 'p1-' || i,
                'D-' || i, 50000 FROM generate_series(2, %(x)s, 2) i""",
            ),
        ]
        for name, sql in steps:
            started = time.perf_counter()
            c.execute(sql, params)
            print(f"  built {name} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        c.execute("VACUUM ANALYZE")


def run(args: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "creditlines", *args], env=env, capture_output=True, text=True)
    return time.perf_counter() - started, done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resellers", type=int, default=200_000)
    parser.add_argument("--expiring", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    opts = parser.parse_args()
    name = f"creditlines_bench_expiry_{os.getpid()}"
    with psycopg.connect(SERVER, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    base = SERVER.rsplit("/", 1)[0]
    url = base.replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    try:
        from creditlines.db.migrate import upgrade

        upgrade(url)
        today = datetime.now(ZoneInfo("Europe/Paris")).date()
        started = time.perf_counter()
        build(f"{base}/{name}", opts.resellers, opts.expiring, today)
        build_s = time.perf_counter() - started
        env = {**os.environ, "CREDITLINES_DATABASE_URL": url, "CREDITLINES_LOG_LEVEL": "WARNING"}
        first_s, first = run(["expire", "--json"], env)
        peak_first_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if first.returncode:
            raise SystemExit(first.stderr)
        second_s, second = run(["expire", "--json"], env)
        verify_s, verified = run(["verify"], env)
        result = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.node()} {os.cpu_count()} cores, "
            f"{platform.python_implementation()} {platform.python_version()}",
            "lines": opts.resellers * 5,
            "expiring": opts.expiring,
            "build_s": round(build_s, 1),
            "first_run_s": round(first_s, 1),
            "first_run_peak_rss_mb": round(peak_first_mb),
            "first_run": json.loads(first.stdout),
            "second_run_s": round(second_s, 2),
            "second_run_lines_expired": json.loads(second.stdout)["lines_expired"],
            "verify_s": round(verify_s, 1),
            "verify_exit": verified.returncode,
        }
        print(json.dumps(result, indent=2))
    finally:
        if not opts.keep:
            with psycopg.connect(SERVER, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmark of a funder's monthly statement (issue 24 budget: a funder with 1,000 resellers and
100,000 drawings in the month, ≤ 2 s on PostgreSQL).

Builds a scratch database with set-based SQL: one distributor, 1,000 resellers with a base line
and a Microsoft line each (opened the month before), 100 drawings per reseller on the Microsoft
line in the last closed month (100,000 drawings) and a payment of every second one — the ledger
entries the statement reads (~300,000 on the funder's lines). Then computes Microsoft's statement
for that month (the whole chain from its first month) twice through the library, as the API does,
and checks the two answers are byte-identical. Prints one JSON object.

    .venv/bin/python scripts/bench/statements.py [--resellers 1000] [--drawings-per-reseller 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

SERVER = os.environ.get("CREDITLINES_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def months(tz: str) -> tuple[datetime, datetime, str]:
    """The start of the last closed local month, of the one before, and the period."""
    today = datetime.now(ZoneInfo(tz)).date()
    first = today.replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=1)
    before = (last_month - timedelta(days=1)).replace(day=1)
    zone = ZoneInfo(tz)
    return (
        datetime(last_month.year, last_month.month, 1, 6, tzinfo=zone).astimezone(UTC),
        datetime(before.year, before.month, 10, 6, tzinfo=zone).astimezone(UTC),
        f"{last_month:%Y-%m}",
    )


def build(url_psycopg: str, resellers: int, per: int) -> str:
    month_at, opened_at, period = months("Europe/Paris")
    half = per // 2
    params = {"n": resellers, "per": per, "half": half, "m": month_at, "o": opened_at, "drawn": half * 1000}
    steps = [
        (
            "resellers",
            """INSERT INTO reseller SELECT 'bench', 'R-' || lpad(i::text, 5, '0'), 'Reseller ' || i, 'active',
            NULL, 3 + 2 * %(per)s + 2 * %(half)s, %(o)s, %(o)s FROM generate_series(1, %(n)s) i""",
        ),
        (
            "lines",
            """INSERT INTO line SELECT 'bench', k || '-' || i, 'R-' || lpad(i::text, 5, '0'),
            CASE WHEN k = 'b' THEN 'base' ELSE 'programme' END, CASE WHEN k = 'p' THEN 'mezz@bench' END,
            CASE WHEN k = 'p' THEN 'microsoft' END, CASE WHEN k = 'p' THEN 'microsoft' ELSE 'bench' END,
            500000, CASE WHEN k = 'p' THEN %(drawn)s ELSE 0 END, %(o)s::date,
            CASE WHEN k = 'p' THEN (%(m)s + interval '120 days')::date END, 'any',
            CASE WHEN k = 'p' THEN 'run_off' END, 'active', %(o)s, CASE WHEN k = 'b' THEN 2 ELSE 3 END, NULL
            FROM generate_series(1, %(n)s) i, unnest(ARRAY['b', 'p']) k""",
        ),
        (
            "ledger: resellers and lines",
            """INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, line_id,
            drawn_delta_minor, limit_after_minor, valid_until_after, status_after)
            SELECT 'bench', 'R-' || lpad(i::text, 5, '0'), s, %(o)s, 'bench',
            CASE WHEN s = 1 THEN 'reseller_created' ELSE 'line_opened' END,
            CASE s WHEN 2 THEN 'b-' || i WHEN 3 THEN 'p-' || i END, CASE WHEN s > 1 THEN 0 END,
            CASE WHEN s > 1 THEN 500000 END, CASE WHEN s = 3 THEN (%(m)s + interval '120 days')::date END, 'active'
            FROM generate_series(1, %(n)s) i, generate_series(1, 3) s""",
        ),
        (
            "ledger: drawings",
            """INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, line_id,
            drawing_reference, amount_minor, drawn_delta_minor)
            SELECT 'bench', 'R-' || lpad(i::text, 5, '0'), 2 + 2 * j + e, %(m)s + j * interval '5 hours',
            'bench', CASE WHEN e = 0 THEN 'drawing_posted' ELSE 'drawing_allocated' END,
            CASE WHEN e = 1 THEN 'p-' || i END, 'D-' || j, CASE WHEN e = 0 THEN 1000 END,
            CASE WHEN e = 1 THEN 1000 END
            FROM generate_series(1, %(n)s) i, generate_series(1, %(per)s) j, generate_series(0, 1) e""",
        ),
        (
            "ledger: payments",
            """INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, line_id,
            drawing_reference, release_reference, amount_minor, drawn_delta_minor)
            SELECT 'bench', 'R-' || lpad(i::text, 5, '0'), 2 + 2 * %(per)s + 2 * k + e,
            %(m)s + interval '20 days' + k * interval '1 minute', 'bench',
            CASE WHEN e = 0 THEN 'release_posted' ELSE 'release_applied' END, CASE WHEN e = 1 THEN 'p-' || i END,
            'D-' || (2 * k), 'P-' || k, CASE WHEN e = 0 THEN 1000 END, CASE WHEN e = 1 THEN -1000 END
            FROM generate_series(1, %(n)s) i, generate_series(1, %(half)s) k, generate_series(0, 1) e""",
        ),
    ]
    with psycopg.connect(url_psycopg, autocommit=True) as c:
        c.execute("INSERT INTO distributor VALUES ('bench', 'Bench', 'EUR', 'Europe/Paris', %s)", (opened_at,))
        c.execute("INSERT INTO vendor VALUES ('microsoft', 'Microsoft', %s)", (opened_at,))
        c.execute(
            """INSERT INTO programme (distributor_id, vendor_id, id, code, name, kind, line_limit_minor, starts_on,
                 ends_on, usable_for, on_expiry, status, created_at, updated_at)
                 VALUES ('bench', 'microsoft', 'mezz@bench', 'mezz', 'Mezz', 'standing', 500000, %s, %s, 'any',
                 'run_off', 'active', %s, %s)""",
            (opened_at.date(), (month_at + timedelta(days=120)).date(), opened_at, opened_at),
        )
        for name, sql in steps:
            started = time.perf_counter()
            c.execute(sql, params)
            print(f"  built {name} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        c.execute("VACUUM ANALYZE")
    return period


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resellers", type=int, default=1_000)
    parser.add_argument("--drawings-per-reseller", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    opts = parser.parse_args()
    name = f"creditlines_bench_statements_{os.getpid()}"
    with psycopg.connect(SERVER, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    base = SERVER.rsplit("/", 1)[0]
    url = base.replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    try:
        from creditlines.db.engine import UnitOfWork, make_engine
        from creditlines.db.migrate import upgrade
        from creditlines.losses import statements

        upgrade(url)
        started = time.perf_counter()
        period = build(f"{base}/{name}", opts.resellers, opts.drawings_per_reseller)
        build_s = time.perf_counter() - started
        uow = UnitOfWork(make_engine(url))
        timings, bodies = [], []
        for _ in range(3):
            started = time.perf_counter()
            with uow.snapshot() as s:
                document = statements.statement(s, distributor_id="bench", funder="microsoft", period=period)
                bodies.append(statements.canonical(document))
            timings.append(time.perf_counter() - started)
        uow.dispose()
        totals = document["totals"]
        print(
            json.dumps(
                {
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": f"{platform.node()} {os.cpu_count()} cores, "
                    f"{platform.python_implementation()} {platform.python_version()}",
                    "resellers": opts.resellers,
                    "drawings": opts.resellers * opts.drawings_per_reseller,
                    "period": period,
                    "build_s": round(build_s, 1),
                    "statement_s": [round(t, 3) for t in timings],
                    "byte_identical": len(set(bodies)) == 1,
                    "bytes": len(bodies[0]),
                    "totals": {k: totals[k] for k in ("resellers", "drawn", "released", "closing_drawn")},
                },
                indent=2,
            )
        )
    finally:
        if not opts.keep:
            with psycopg.connect(SERVER, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmark of the ageing report (SPEC §18; budget: 10,000 resellers and 1,000,000 drawings in
≤ 2 s on PostgreSQL).

Builds a scratch database with set-based SQL: 10,000 resellers with a base line and a Microsoft
line each; 1,000,000 drawings over the past year (due 30 days after their invoice), four in five
paid in full, the rest open with one allocation each (base or Microsoft); their ledger entries
(allocated, and the payments), written in time order as an append-only ledger lies on disk
(``--unordered-ledger``: all allocations' entries first, then the payments', the worst case for
the BRIN index on ``ledger_entry.at``). Then times the report through the library, as the API
calls it: today's (the balances), a past date (the ledger as it stood), and Microsoft's view.
Each is run three times; the median is reported. Prints one JSON object.

    .venv/bin/python scripts/bench/ageing.py [--resellers 10000] [--drawings 1000000] [--unordered-ledger]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

SERVER = os.environ.get("CREDITLINES_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def build(url_psycopg: str, resellers: int, drawings: int, unordered: bool = False) -> None:
    at = datetime.now(UTC) - timedelta(days=400)
    params = {"n": resellers, "m": drawings, "at": at}
    with psycopg.connect(url_psycopg, autocommit=True) as c:
        c.execute("INSERT INTO distributor VALUES ('bench', 'Bench', 'EUR', 'Europe/Paris', %s)", (at,))
        c.execute("INSERT INTO vendor VALUES ('microsoft', 'Microsoft', %s)", (at,))
        c.execute(
            """INSERT INTO programme (distributor_id, vendor_id, id, code, name, kind, line_limit_minor, starts_on,
                     ends_on, usable_for, on_expiry, status, created_at, updated_at)
                     VALUES ('bench', 'microsoft', 'mezz@bench', 'mezz', 'Mezz', 'standing', 500000, %s, %s, 'any',
                     'transfer_to_base', 'active', %s, %s)""",
            (at.date(), at.date() + timedelta(days=800), at, at),
        )
        # drawing i belongs to reseller (i % n) + 1, posted (i % 365) days after `at` + 30 days,
        # open when (i / n) % 5 = 0 (one in five of each reseller's), on the Microsoft line when i % 15 = 0; else paid
        steps = [
            (
                "resellers",
                """INSERT INTO reseller SELECT 'bench', 'R-' || lpad(i::text, 6, '0'), 'Reseller ' || i, 'active',
                NULL, 0, %(at)s, %(at)s FROM generate_series(1, %(n)s) i""",
            ),
            (
                "lines",
                """INSERT INTO line SELECT 'bench', k || '-' || i, 'R-' || lpad(i::text, 6, '0'),
                CASE k WHEN 'b' THEN 'base' ELSE 'programme' END, CASE k WHEN 'b' THEN NULL ELSE 'mezz@bench' END,
                CASE k WHEN 'b' THEN NULL ELSE 'microsoft' END, CASE k WHEN 'b' THEN 'bench' ELSE 'microsoft' END,
                100000000, 0, %(at)s::date, CASE k WHEN 'b' THEN NULL ELSE %(at)s::date + 800 END, 'any',
                CASE k WHEN 'b' THEN NULL ELSE 'transfer_to_base' END, 'active', %(at)s,
                CASE k WHEN 'b' THEN 1 ELSE 2 END, NULL
                FROM generate_series(1, %(n)s) i, unnest(ARRAY['b', 'p']) k""",
            ),
            (
                "drawings",
                """INSERT INTO drawing (distributor_id, reseller_id, reference, amount_minor, outstanding_minor,
                vendor_id, status, created_at, created_by, invoice_date, due_on)
                SELECT 'bench', 'R-' || lpad((i %% %(n)s + 1)::text, 6, '0'), 'D-' || i,
                10000 + i %% 90000, CASE WHEN (i / %(n)s) %% 5 = 0 THEN 10000 + i %% 90000 ELSE 0 END, NULL,
                CASE WHEN (i / %(n)s) %% 5 = 0 THEN 'open' ELSE 'settled' END,
                %(at)s + (30 + i %% 365) * interval '1 day', 'bench',
                (%(at)s + (30 + i %% 365) * interval '1 day')::date,
                (%(at)s + (30 + i %% 365) * interval '1 day')::date + 30
                FROM generate_series(1, %(m)s) i""",
            ),
            (
                "allocations",
                """INSERT INTO allocation SELECT 'bench', 'R-' || lpad((i %% %(n)s + 1)::text, 6, '0'), 'D-' || i,
                CASE WHEN i %% 15 = 0 THEN 'p-' ELSE 'b-' END || (i %% %(n)s + 1),
                CASE WHEN i %% 15 = 0 THEN 'microsoft' ELSE 'bench' END,
                10000 + i %% 90000, CASE WHEN (i / %(n)s) %% 5 = 0 THEN 10000 + i %% 90000 ELSE 0 END, 0
                FROM generate_series(1, %(m)s) i""",
            ),
            (
                "ledger",
                """INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, line_id,
                drawing_reference, drawn_delta_minor)
                SELECT * FROM (
                SELECT 'bench', 'R-' || lpad((i %% %(n)s + 1)::text, 6, '0'), 10 + 2 * (i / %(n)s), %(at)s
                + (30 + i %% 365) * interval '1 day' AS at, 'bench', 'drawing_allocated',
                CASE WHEN i %% 15 = 0 THEN 'p-' ELSE 'b-' END || (i %% %(n)s + 1), 'D-' || i, 10000 + i %% 90000
                FROM generate_series(1, %(m)s) i
                UNION ALL
                SELECT 'bench', 'R-' || lpad((i %% %(n)s + 1)::text, 6, '0'), 11 + 2 * (i / %(n)s), %(at)s
                + (50 + i %% 365) * interval '1 day', 'bench', 'release_applied',
                CASE WHEN i %% 15 = 0 THEN 'p-' ELSE 'b-' END || (i %% %(n)s + 1), 'D-' || i,
                -(10000 + i %% 90000) FROM generate_series(1, %(m)s) i WHERE (i / %(n)s) %% 5 <> 0) e """
                + ("" if unordered else "ORDER BY at"),
            ),
        ]
        for name, sql in steps:
            started = time.perf_counter()
            c.execute(sql, params)
            print(f"  built {name} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        c.execute("VACUUM ANALYZE")


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    runs, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resellers", type=int, default=10_000)
    parser.add_argument("--drawings", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--unordered-ledger",
        action="store_true",
        help="write the ledger out of time order (all drawings' entries, then all payments'), the worst case"
        " for the BRIN index on ledger_entry.at; by default in time order, as an append-only ledger lies",
    )
    opts = parser.parse_args()
    name = f"creditlines_bench_ageing_{os.getpid()}"
    with psycopg.connect(SERVER, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    base = SERVER.rsplit("/", 1)[0]
    url = base.replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    try:
        from creditlines.db.engine import UnitOfWork, make_engine
        from creditlines.db.migrate import upgrade
        from creditlines.ledger.ageing import ageing

        upgrade(url)
        started = time.perf_counter()
        build(f"{base}/{name}", opts.resellers, opts.drawings, opts.unordered_ledger)
        build_s = time.perf_counter() - started
        uow = UnitOfWork(make_engine(url))
        today = datetime.now(ZoneInfo("Europe/Paris")).date()

        def report(as_of=None, vendor_id=None):
            def run():
                with uow.snapshot() as s:
                    return ageing(s, distributor_id="bench", as_of=as_of, vendor_id=vendor_id)

            return run

        live_s, live = timed(report())
        past_s, past = timed(report(as_of=today - timedelta(days=60)))
        vendor_s, vendor = timed(report(vendor_id="microsoft"))
        result = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.node()} {os.cpu_count()} cores, "
            f"{platform.python_implementation()} {platform.python_version()}",
            "resellers": opts.resellers,
            "drawings": opts.drawings,
            "ledger": "out of time order" if opts.unordered_ledger else "in time order",
            "build_s": round(build_s, 1),
            "today_s": round(live_s, 2),
            "today_resellers": len(live.resellers),
            "today_outstanding_minor": live.totals.outstanding,
            "past_60_days_s": round(past_s, 2),
            "past_resellers": len(past.resellers),
            "past_outstanding_minor": past.totals.outstanding,
            "vendor_s": round(vendor_s, 2),
            "vendor_outstanding_minor": vendor.totals.outstanding,
        }
        print(json.dumps(result, indent=2))
    finally:
        if not opts.keep:
            with psycopg.connect(SERVER, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

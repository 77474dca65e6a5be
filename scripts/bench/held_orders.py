#!/usr/bin/env python3
"""Held orders on PostgreSQL (issue 22): what they cost the releases and drawings that have none,
and what one release that frees room for 100 held orders costs.

In-process, one connection at a time (no HTTP, no wrk: what is measured is the service's work in
the database, commit included), on a database of its own:

* ``drawings``: plain drawings (``on_refusal`` left out), each one call of ``creditlines_draw``
  committed, spread over resellers; the rate and the p50/p99 latency.
* ``release_none``: a payment on a reseller without held orders (the fast path:
  ``reseller.held_count`` = 0, no query); p50/p99.
* ``release_100``: a payment on a reseller with 100 held orders of 100.00 that frees room for all
  of them, so the one transaction posts the payment and the 100 orders (and their events); p50/p99,
  and the CPU each took at p50 in this process and in its PostgreSQL backend (``/proc/PID/schedstat``
  when the server runs on this host, as here): what it costs whatever else the machine runs.

Run it on this checkout and on another one to compare (``--src`` points at its source tree; its
own migrations build its database). Output: one JSON document on stdout.

    .venv/bin/python scripts/bench/held_orders.py [--src DIR] [--drawings 3000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

SERVER = os.environ.get("CREDITLINES_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def summary(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": pct(ms, 0.5), "p99_ms": pct(ms, 0.99), "max_ms": round(max(ms), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--src", default=str(Path(__file__).resolve().parents[2]))
    parser.add_argument("--drawings", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--held", type=int, default=100)
    opts = parser.parse_args()
    sys.path.insert(0, opts.src)
    os.chdir(opts.src)  # alembic.ini and migrations/ of that tree

    import psycopg
    from moneyed import Money

    from creditlines import clock, ledger
    from creditlines.db.engine import UnitOfWork, make_engine
    from creditlines.db.migrate import upgrade
    from creditlines.tenants import service as tenants

    has_hold = "on_refusal" in ledger.DrawingRequest.__dataclass_fields__
    name = f"creditlines_bench_held_{os.getpid()}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{SERVER.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+psycopg://")
    result: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()}, {os.cpu_count()} cores, CPython {platform.python_version()}",
        "src": opts.src,
        "held_orders_supported": has_hold,
    }
    eur = lambda amount: Money(amount, "EUR")  # noqa: E731
    try:
        upgrade(url)
        engine = make_engine(url, pool_size=2)
        uow = UnitOfWork(engine)
        clock.set_now("2026-03-02T09:00:00+00:00")
        resellers = [f"R-{i:05d}" for i in range(200)]
        with uow.write() as s:
            tenants.create_distributor(s, id="bench", name="Bench", currency="EUR", timezone="Europe/Paris")
            ledger.import_resellers(
                s, distributor_id="bench", rows=[(r, r, eur("1000000000.00")) for r in resellers], actor="bench"
            )
        with psycopg.connect(SERVER.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")

        # plain drawings: one statement each, committed (the DrawingDesk's work on PostgreSQL)
        from creditlines.ledger.desk import DRAW_PG
        from creditlines.tenants.lookup import require_distributor

        with uow.read() as s:
            info = require_distributor(s, "bench")
        dsn = SERVER.rsplit("/", 1)[0] + f"/{name}"
        ms: list[float] = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            for i in range(opts.drawings):
                request = ledger.DrawingRequest.of(
                    info,
                    reseller_id=resellers[i % len(resellers)],
                    reference=f"D-{i}",
                    amount=eur("10.00"),
                    vendor_id=None,
                    actor="bench",
                )
                start = time.perf_counter()
                conn.execute(DRAW_PG, request.params()).fetchone()
                ms.append((time.perf_counter() - start) * 1000)
        result["drawings"] = summary(ms) | {"per_s": round(len(ms) / (sum(ms) / 1000), 1)}

        cpu: dict[str, list[float]] = {"client": [], "server": []}

        def backend_cpu(s) -> tuple[int, int | None]:
            """The session's PostgreSQL backend and its CPU time so far in ns (Linux, same host)."""
            pid = s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            try:
                with open(f"/proc/{pid}/schedstat") as f:
                    return pid, int(f.read().split()[0])
            except OSError:
                return pid, None

        def pay(reseller: str, drawing: str, reference: str, amount: str, count_cpu: bool = False) -> float:
            start, client = time.perf_counter(), time.process_time()
            with uow.write() as s:
                pid, server = backend_cpu(s) if count_cpu else (0, None)
                ledger.release(
                    s,
                    distributor_id="bench",
                    reseller_id=reseller,
                    drawing_reference=drawing,
                    reference=reference,
                    amount=eur(amount),
                    kind="payment",
                    actor="bench",
                )
            elapsed = (time.perf_counter() - start) * 1000
            if count_cpu:
                cpu["client"].append((time.process_time() - client) * 1000)
                if server is not None:
                    with open(f"/proc/{pid}/schedstat") as f:
                        cpu["server"].append((int(f.read().split()[0]) - server) / 1e6)
            return elapsed

        none = [pay(resellers[i % len(resellers)], f"D-{i}", f"P-{i}", "1.00") for i in range(opts.rounds * 10)]
        result["release_none"] = summary(none)

        if has_hold:
            freeing: list[float] = []
            for n in range(opts.rounds):
                r = f"H-{n:04d}"
                with uow.write() as s:
                    ledger.upsert_reseller(s, distributor_id="bench", reseller_id=r, name=r, actor="bench")
                    ledger.set_base_limit(
                        s, distributor_id="bench", reseller_id=r, limit=eur("100000.00"), reason="b", actor="bench"
                    )
                    ledger.draw(
                        s, distributor_id="bench", reseller_id=r, reference="FILL", amount=eur("100000.00"), actor="b"
                    )
                for k in range(opts.held):
                    with uow.write() as s:
                        ledger.draw(
                            s,
                            distributor_id="bench",
                            reseller_id=r,
                            reference=f"H-{k:03d}",
                            amount=eur("100.00"),
                            actor="bench",
                            on_refusal="hold",
                        )
                freeing.append(pay(r, "FILL", "P-ALL", f"{opts.held * 100}.00", count_cpu=True))
                with uow.read() as s:
                    left = ledger.list_drawings(
                        s, distributor_id="bench", reseller_id=r, after=None, limit=500, status="held"
                    )
                assert not left, f"{len(left)} held orders left"
            result["release_100"] = summary(freeing) | {"held_orders_each": opts.held}
            # CPU work per release, whatever the load: this process, and its PostgreSQL backend
            result["release_100"]["client_cpu_p50_ms"] = pct(cpu["client"], 0.5)
            if cpu["server"]:
                result["release_100"]["server_cpu_p50_ms"] = pct(cpu["server"], 0.5)
        uow.dispose()
    finally:
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()

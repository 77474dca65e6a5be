#!/usr/bin/env python3
"""How many statements a drawing, a payment and a raise send when the reseller has no held order
(issue 22: the re-check must cost them nothing), on this checkout or another (``--src DIR``).

    .venv/bin/python scripts/bench/held_statements.py [--src DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

SERVER = os.environ.get("CREDITLINES_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--src", default=str(Path(__file__).resolve().parents[2]))
    opts = parser.parse_args()
    sys.path.insert(0, opts.src)
    os.chdir(opts.src)

    import psycopg
    from moneyed import Money
    from sqlalchemy import event

    from creditlines import clock, ledger
    from creditlines.db.engine import UnitOfWork, make_engine
    from creditlines.db.migrate import upgrade
    from creditlines.tenants import service as tenants

    name = f"creditlines_bench_statements_{os.getpid()}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{SERVER.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+psycopg://")
    engine = None
    try:
        upgrade(url)
        engine = make_engine(url, pool_size=2)
        uow = UnitOfWork(engine)
        clock.set_now("2026-03-02T09:00:00+00:00")
        with uow.write() as s:
            tenants.create_distributor(s, id="b", name="B", currency="EUR", timezone="Europe/Paris")
            ledger.upsert_reseller(s, distributor_id="b", reseller_id="R", name="R", actor="b")
            ledger.set_base_limit(
                s, distributor_id="b", reseller_id="R", limit=Money("1000.00", "EUR"), reason="b", actor="b"
            )
        count = [0]

        def counted(*_: object) -> None:
            count[0] += 1

        event.listen(engine, "before_cursor_execute", counted)
        steps = {
            "drawing": lambda s: ledger.draw(
                s, distributor_id="b", reseller_id="R", reference="D1", amount=Money("100.00", "EUR"), actor="b"
            ),
            "payment without held orders": lambda s: ledger.release(
                s,
                distributor_id="b",
                reseller_id="R",
                drawing_reference="D1",
                reference="P1",
                amount=Money("10.00", "EUR"),
                kind="payment",
                actor="b",
            ),
            "raise without held orders": lambda s: ledger.set_base_limit(
                s, distributor_id="b", reseller_id="R", limit=Money("2000.00", "EUR"), reason="b", actor="b"
            ),
        }
        for label, step in steps.items():
            count[0] = 0
            with uow.write() as s:
                step(s)
            print(f"{label}: {count[0]} statements")
    finally:
        if engine is not None:
            engine.dispose()
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

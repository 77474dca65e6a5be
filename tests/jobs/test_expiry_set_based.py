"""On PostgreSQL ``close_lines`` and the outbox write many rows per statement (``COPY``,
``UPDATE … FROM unnest``: ``creditlines.db.bulk``); elsewhere, and with ``bulk.ENABLED`` off,
they use ``executemany``. The decisions are the same Python code either way: these tests
run one scenario both ways on PostgreSQL and compare every row the writes touch."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, text

from creditlines import clock, ledger
from creditlines.db import bulk
from creditlines.db.engine import UnitOfWork
from creditlines.jobs import expiry
from creditlines.ledger.verify import verify
from creditlines.models import Base
from tests.factories import make_reseller, make_world
from tests.jobs.test_expiry import draw, grant

# Every table the job or a termination writes, ordered by primary key. event.txid is the
# writing transaction's id, which differs between any two runs: left out.
TABLES = {
    "reseller": "distributor_id, id",
    "line": "distributor_id, id",
    "allocation": "distributor_id, reseller_id, drawing_reference, line_id",
    "drawing": "distributor_id, reseller_id, reference",
    "ledger_entry": "distributor_id, reseller_id, seq",
    "event": "distributor_id, id",
}


def _reset(admin: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with admin.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # the ledger's TRUNCATE trigger
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def _scenario(uow: UnitOfWork) -> None:
    """Every branch of close_lines: transfer with a base allocation already there for the drawing
    (update) and without (insert), several allocations on one line, two lines of one reseller
    closing, run_off with and without a drawn amount, a line that does not end, a reseller
    left over limit (an alert), and a termination (revoked, ORM objects)."""
    make_world(uow)
    make_reseller(uow, "R-1", "1000.00")
    grant(uow, "actebis", "R-1")
    draw(uow, "actebis", "R-1", "SO-1", "4000.00")  # 1,000 on base, 3,000 on the programme line
    draw(uow, "actebis", "R-1", "SO-2", "500.00")
    make_reseller(uow, "R-2", "0.00")
    grant(uow, "actebis", "R-2", on_expiry="run_off")
    draw(uow, "actebis", "R-2", "SO-3", "700.00")
    grant(uow, "actebis", "R-2", until=date(2026, 6, 15))
    grant(uow, "actebis", "R-2", until=date(2026, 12, 31))
    grant(uow, "actebis", "R-2", until=date(2026, 6, 20), on_expiry="run_off")
    make_reseller(uow, "R-3", "0.00")
    grant(uow, "actebis", "R-3", limit="2000.00")
    grant(uow, "actebis", "R-3", limit="2000.00", until=date(2026, 6, 1))
    draw(uow, "actebis", "R-3", "SO-4", "3500.00")
    for i in range(4, 9):
        make_reseller(uow, f"R-{i}", "100.00")
        grant(uow, "actebis", f"R-{i}", limit="1000.00")
        draw(uow, "actebis", f"R-{i}", f"SO-{i + 1}", "600.00")
    make_reseller(uow, "R-9", "100.00")
    grant(uow, "actebis", "R-9", limit="1000.00", until=date(2026, 12, 31))
    draw(uow, "actebis", "R-9", "SO-20", "600.00")


def _ids(monkeypatch) -> None:
    """Line ids (uuid4) the same in both runs."""
    import uuid

    numbers = iter(range(1, 10_000))
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(numbers)))


def _run(uow: UnitOfWork) -> None:
    with uow.write() as s:
        ledger.terminate(s, distributor_id="actebis", reseller_id="R-9", reason="closed", actor="ops")
    with clock.frozen("2026-07-01T09:00:00+02:00"):
        report = expiry.run_expiry(uow, batch_size=3, workers=1)[0]  # one batch at a time: event ids in order
    assert report.lines_expired == 11 and report.resellers_over_limit >= 1


def _rows(uow: UnitOfWork) -> dict[str, list[tuple]]:
    with uow.snapshot() as s:
        assert verify(s) == []
        found = {}
        for table, order in TABLES.items():
            result = s.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
            keep = [i for i, name in enumerate(result.keys()) if name != "txid"]
            found[table] = [tuple(row[i] for i in keep) for row in result]
        return found


@pytest.mark.slow
def test_set_based_writes_give_the_rows_of_executemany(pg_only_engine, pg_admin_engine, monkeypatch):
    uow = UnitOfWork(pg_only_engine)
    try:
        monkeypatch.setattr(bulk, "ENABLED", False)
        _ids(monkeypatch)
        _scenario(uow)
        _run(uow)
        by_executemany = _rows(uow)

        _reset(pg_admin_engine)
        monkeypatch.setattr(bulk, "ENABLED", True)
        calls: list[str] = []
        for name in ("insert_rows", "update_rows"):
            real = getattr(bulk, name)
            monkeypatch.setattr(
                bulk,
                name,
                lambda conn, table, rows, real=real, **kw: calls.append(table.name) or real(conn, table, rows, **kw),
            )
        _ids(monkeypatch)
        _scenario(uow)
        _run(uow)
        set_based = _rows(uow)
    finally:
        if uow.read_engine is not None:
            uow.read_engine.dispose()
    assert {"ledger_entry", "event", "allocation", "line", "reseller"} <= set(calls)  # the set-based path ran
    assert by_executemany["ledger_entry"] and by_executemany["event"]
    for table in TABLES:
        assert len(set_based[table]) == len(by_executemany[table]), table
        for mine, theirs in zip(set_based[table], by_executemany[table], strict=True):
            assert mine == theirs, table


def test_bulk_refuses_what_it_cannot_write_as_executemany_would(pg_only_engine):
    from creditlines.ledger.models import Reseller

    with pg_only_engine.connect() as conn:
        with pytest.raises(ValueError, match="same keys"):
            bulk.insert_rows(conn, Reseller.__table__, [{"id": "a"}, {"id": "b", "name": "B"}])
        with pytest.raises(ValueError, match="twice"):
            rows = [{"distributor_id": "d", "id": "a", "ledger_seq": 1}] * 2
            bulk.update_rows(conn, Reseller.__table__, rows, keys=["distributor_id", "id"], set_=("ledger_seq",))


def test_a_failed_copy_raises_what_executemany_would(pg_only_engine):
    from sqlalchemy.exc import IntegrityError

    from creditlines.ledger.models import LedgerEntry

    row = {"distributor_id": "nowhere", "reseller_id": "R-0", "seq": 1, "at": clock.now(), "actor": "t", "kind": "x"}
    with pg_only_engine.connect() as conn, pytest.raises(IntegrityError):  # no such reseller
        bulk.insert_rows(conn, LedgerEntry.__table__, [row])

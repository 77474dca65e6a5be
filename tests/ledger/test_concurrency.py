"""Races against the real databases: many clients on one reseller never overdraw it, and
simultaneous copies of one reference post once. Same answers on SQLite (no "database is
locked" reaches a caller)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from creditlines import ledger
from creditlines.errors import InsufficientCredit
from creditlines.ledger.verify import verify
from tests.factories import eur, make_reseller, make_world

THREADS = 32
D = "actebis"


def _race(n: int, action):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            return ("ok", action(i))
        except Exception as exc:  # noqa: BLE001 - every outcome is inspected by the test
            return ("error", exc)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@pytest.mark.slow
def test_40_clients_racing_on_one_reseller_never_overdraw_it(uow):
    """Headroom 10,000 + 2,500 of Mezzanine; 40 orders of 700 race: exactly 17 fit (11,900)."""
    from datetime import date

    make_world(uow)
    make_reseller(uow, "R-HOT", "10000.00")
    with uow.write() as s:
        ledger.grant_programme_line(
            s,
            distributor_id=D,
            reseller_id="R-HOT",
            vendor_id="microsoft",
            programme_id=None,
            limit=eur("2500.00"),
            valid_until=date(2026, 6, 30),
            actor="partner",
        )

    def order(i):
        with uow.write() as s:
            return ledger.draw(
                s, distributor_id=D, reseller_id="R-HOT", reference=f"SO-{i}", amount=eur("700.00"), actor="erp"
            )

    outcomes = _race(40, order)
    errors = [e for kind, e in outcomes if kind == "error"]
    assert all(isinstance(e, InsufficientCredit) for e in errors), errors
    accepted = [r for kind, r in outcomes if kind == "ok"]
    assert len(accepted) == 17 and len(errors) == 23

    with uow.snapshot() as s:
        view = ledger.availability(s, distributor_id=D, reseller_id="R-HOT")
        drawings = ledger.list_drawings(s, distributor_id=D, reseller_id="R-HOT", after=None, limit=100)
        assert verify(s) == []
    assert view.total_drawn == eur("11900.00") and view.total_available == eur("600.00")
    assert sum(d.amount.amount for d in drawings) == 11900
    mezz = [line for line in view.lines if line.kind == "programme"][0]
    assert mezz.drawn == eur("1900.00")  # never above its 2,500


@pytest.mark.slow
def test_simultaneous_copies_of_one_order_post_once(uow):
    make_world(uow)
    make_reseller(uow, "R-DUP", "5000.00")

    def order(_):
        with uow.write() as s:
            return ledger.draw(
                s, distributor_id=D, reseller_id="R-DUP", reference="SO-ONCE", amount=eur("1000.00"), actor="erp"
            )

    outcomes = _race(THREADS, order)
    assert [kind for kind, _ in outcomes] == ["ok"] * THREADS
    created = [created for _, (drawing, created) in outcomes]
    assert created.count(True) == 1
    drawings = [drawing for _, (drawing, _c) in outcomes]
    assert all(d == drawings[0] for d in drawings)

    def pay(_):
        with uow.write() as s:
            return ledger.release(
                s,
                distributor_id=D,
                reseller_id="R-DUP",
                drawing_reference="SO-ONCE",
                reference="PAY-ONCE",
                amount=eur("400.00"),
                kind="payment",
                actor="erp",
            )

    outcomes = _race(12, pay)
    assert [kind for kind, _ in outcomes] == ["ok"] * 12
    assert [c for _, (_d, c) in outcomes].count(True) == 1
    with uow.snapshot() as s:
        view = ledger.availability(s, distributor_id=D, reseller_id="R-DUP")
        assert verify(s) == []
    assert view.total_drawn == eur("600.00")


@pytest.mark.slow
def test_creating_one_reseller_from_many_clients_creates_it_once(uow):
    make_world(uow)

    def create(_):
        with uow.write() as s:
            return ledger.upsert_reseller(s, distributor_id=D, reseller_id="R-NEW", name="New", actor="officer")[1]

    outcomes = _race(16, create)
    assert [kind for kind, _ in outcomes] == ["ok"] * 16
    assert [created for _, created in outcomes].count(True) == 1
    with uow.snapshot() as s:
        view = ledger.availability(s, distributor_id=D, reseller_id="R-NEW")
        assert verify(s) == []
    assert len(view.lines) == 1

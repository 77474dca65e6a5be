"""Budgets hold: under races (on both databases, PostgreSQL included) and under random use."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditlines import clock
from creditlines.programmes import enrolment, purchases, service
from tests.factories import eur, make_reseller, make_world

D = "actebis"


def _race(n, fn):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:  # noqa: BLE001 - inspected by the tests
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _programme(uow, **kw):
    with uow.write() as s:
        defaults = dict(
            vendor_id="microsoft",
            distributor_id=D,
            code="mezzanine",
            name="Mezzanine",
            kind="standing",
            line_limit=eur("5000.00"),
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 6, 30),
        )
        return service.create_programme(s, **{**defaults, **kw})[0].id


@pytest.mark.slow
def test_two_enrolments_racing_for_the_last_slot_one_wins(uow):
    make_world(uow)
    for i in range(12):
        make_reseller(uow, f"R-{i}", "1000.00")
    pid = _programme(uow, max_beneficiaries=5)

    def enrol(i):
        with uow.write() as s:
            return enrolment.enrol(
                s, vendor_id="microsoft", programme_id=pid, resellers=[(f"R-{i}", None)], actor="pm"
            )[0].outcome

    outcomes = _race(12, enrol)
    assert sorted(outcomes) == ["budget_exhausted"] * 7 + ["granted"] * 5
    with uow.read() as s:
        programme = service.get_programme(s, vendor_id="microsoft", programme_id=pid)
        assert service.view(s, programme).beneficiaries == 5


@pytest.mark.slow
def test_events_racing_for_the_last_euro_and_copies_of_one_event(uow):
    make_world(uow)
    for i in range(8):
        make_reseller(uow, f"R-{i}", "0.00")
    pid = _programme(
        uow,
        code="oem",
        kind="purchase_triggered",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        trigger_category="office_oem",
        trigger_min_amount=eur("1000.00"),
        line_duration_months=6,
        max_total_limit=eur("15000.00"),
    )

    def event(i, event_id=None):
        with uow.write() as s:
            answer, created = purchases.record_purchase(
                s,
                distributor_id=D,
                event_id=event_id or f"EV-{i}",
                reseller_id=f"R-{i}",
                vendor_id="microsoft",
                product_category="office_oem",
                amount=eur("1200.00"),
                occurred_at=datetime(2026, 3, 2, 8, tzinfo=UTC),
                actor="erp",
            )
            return answer.results[0]["outcome"], created

    outcomes = _race(8, event)
    assert sorted(o for o, _ in outcomes) == ["budget_exhausted"] * 5 + ["granted"] * 3

    copies = _race(10, lambda _i: event(0, event_id="EV-SAME"))
    assert [c for _o, c in copies].count(True) == 1 and all(not isinstance(c, Exception) for c in copies)
    with uow.read() as s:
        programme = service.get_programme(s, vendor_id="microsoft", programme_id=pid)
        view = service.view(s, programme)
    assert view.total_limit == eur("15000.00") and view.beneficiaries == 3


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["enrol", "event", "days"]),
            st.integers(min_value=0, max_value=9),
            st.integers(min_value=1, max_value=60),
        ),
        min_size=1,
        max_size=25,
    ),
    max_beneficiaries=st.integers(min_value=0, max_value=6),
    max_total=st.integers(min_value=0, max_value=30_000),
)
def _budget_property(uow, steps, max_beneficiaries, max_total):
    import itertools

    run = next(_runs)
    clock.set_now("2026-03-02T09:00:00+00:00")
    standing = _programme(uow, code=f"s{run}", max_beneficiaries=max_beneficiaries, max_total_limit=eur(max_total))
    triggered = _programme(
        uow,
        code=f"t{run}",
        kind="purchase_triggered",
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 12, 31),
        trigger_category="office_oem",
        trigger_min_amount=eur("1000.00"),
        line_duration_months=1,
        max_beneficiaries=max_beneficiaries,
        max_total_limit=eur(max_total),
    )
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    counter = itertools.count()
    for action, who, size in steps:
        reseller = f"R-{who}"
        with uow.write() as s:
            if action == "enrol":
                enrolment.enrol(
                    s,
                    vendor_id="microsoft",
                    programme_id=standing,
                    actor="pm",
                    resellers=[(reseller, eur(min(size * 100, 5000)))],
                )
            elif action == "event":
                purchases.record_purchase(
                    s,
                    distributor_id=D,
                    event_id=f"E{run}-{next(counter)}",
                    reseller_id=reseller,
                    vendor_id="microsoft",
                    product_category="office_oem",
                    amount=eur(size * 100),
                    occurred_at=now,
                    actor="erp",
                )
            elif action == "days":
                now += timedelta(days=size)
                clock.set_now(now)
        with uow.read() as s:
            for pid in (standing, triggered):
                programme = service.get_programme(s, vendor_id="microsoft", programme_id=pid)
                view = service.view(s, programme)
                assert view.beneficiaries <= max_beneficiaries
                assert view.total_limit <= eur(max_total)


_runs = iter(range(10**6))


@pytest.mark.slow
def test_no_budget_is_ever_exceeded(uow):
    make_world(uow)
    for i in range(10):
        make_reseller(uow, f"R-{i}", "100.00")
    try:
        _budget_property(uow)
    finally:
        clock.set_now(None)

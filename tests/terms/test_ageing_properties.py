"""Properties of the ageing report (SPEC §18), on both databases: whatever the drawings, their due
dates, the payments and the date asked, the buckets add up to the outstanding — per reseller, per
funder and in total — and the outstanding is what the drawings still owe; each euro sits in the
bucket of its drawing's days overdue. A past date read from the ledger agrees with the live
report asked on that date."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditlines import clock, ledger
from creditlines.ledger.ageing import BUCKETS, AgeingRow, ageing, bucket_of
from creditlines.money import from_minor, to_minor
from creditlines.tenants import lookup
from tests.factories import eur, make_world

START = date(2026, 3, 2)
COUNTER = itertools.count()

drawings = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=5000),  # amount in euros
        st.integers(min_value=0, max_value=200),  # terms: due this many days after 2 March
        st.integers(min_value=0, max_value=100),  # percent of it paid
        st.booleans(),  # on the vendor's line (drawn with its vendor, usable only for it)
    ),
    min_size=0,
    max_size=6,
)


def _sum(row: AgeingRow) -> int:
    return sum(row.amounts[b] for b in BUCKETS)


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=drawings, asked=st.integers(min_value=0, max_value=320))
def test_the_buckets_add_up_to_the_outstanding(uow, book, asked):
    clock.set_now(f"{START.isoformat()}T09:00:00+00:00")
    with uow.read() as s:
        first = lookup.get_distributor(s, "actebis") is None
    if first:  # the fixture's database lives across the examples
        make_world(uow)
    r = f"P-{next(COUNTER)}"
    with uow.write() as s:
        ledger.upsert_reseller(s, distributor_id="actebis", reseller_id=r, name=r, actor="test")
        ledger.set_base_limit(s, distributor_id="actebis", reseller_id=r, limit=eur(1_000_000), reason="t", actor="t")
        ledger.grant_programme_line(
            s,
            distributor_id="actebis",
            reseller_id=r,
            vendor_id="microsoft",
            programme_id=None,
            limit=eur(1_000_000),
            valid_until=date(2027, 12, 31),
            usable_for="vendor_products",
            actor="test",
        )
    owed: dict[str, tuple[int, date]] = {}
    for i, (amount, days, paid, vendor) in enumerate(book):
        ref, due_on = f"D-{i}", START + timedelta(days=days)
        with uow.write() as s:
            ledger.draw(
                s,
                distributor_id="actebis",
                reseller_id=r,
                reference=ref,
                amount=eur(amount),
                vendor_id="microsoft" if vendor else None,
                due_on=due_on,
                actor="erp",
            )
            minor = to_minor(eur(amount))
            pay = minor * paid // 100
            if pay:
                ledger.release(
                    s,
                    distributor_id="actebis",
                    reseller_id=r,
                    drawing_reference=ref,
                    reference="PAY",
                    amount=from_minor(pay, "EUR"),
                    kind="payment",
                    actor="erp",
                )
        owed[ref] = (minor - pay, due_on)
    day = START + timedelta(days=asked)
    with uow.read() as s:
        report = ageing(s, distributor_id="actebis", as_of=day)
    mine = [row for row in report.resellers if row.key == r]
    expected = dict.fromkeys(BUCKETS, 0)
    for amount, due_on in owed.values():
        expected[bucket_of((day - due_on).days)] += amount
    total = sum(expected.values())
    if total == 0:
        assert mine == []
    else:
        assert mine[0].amounts == expected and mine[0].outstanding == total
    # whatever else the database holds (earlier examples), every view adds up to the same sum
    assert _sum(report.totals) == report.totals.outstanding
    assert sum(_sum(row) for row in report.resellers) == report.totals.outstanding
    assert sum(_sum(row) for row in report.funders) == report.totals.outstanding
    for b in BUCKETS:
        assert sum(row.amounts[b] for row in report.funders) == report.totals.amounts[b]
        assert sum(row.amounts[b] for row in report.resellers) == report.totals.amounts[b]


@pytest.mark.parametrize("days", [-1, 0, 1, 30, 31, 60, 61, 90, 91, 400])
def test_the_bucket_edges(days):
    expected = {-1: "not_due", 0: "not_due", 1: "1_30", 30: "1_30", 31: "31_60", 60: "31_60"}
    expected |= {61: "61_90", 90: "61_90", 91: "over_90", 400: "over_90"}
    assert bucket_of(days) == expected[days]


def test_a_past_date_from_the_ledger_equals_the_live_report_asked_that_day(uow):
    make_world(uow)
    clock.set_now("2026-03-02T09:00:00+00:00")
    with uow.write() as s:
        ledger.upsert_reseller(s, distributor_id="actebis", reseller_id="R-1", name="R", actor="t")
        ledger.set_base_limit(s, distributor_id="actebis", reseller_id="R-1", limit=eur(5000), reason="t", actor="t")
        for i, (amount, due) in enumerate([(1000, date(2026, 3, 1)), (700, date(2026, 3, 2)), (300, date(2026, 1, 2))]):
            ledger.draw(s, distributor_id="actebis", reseller_id="R-1", reference=f"D-{i}", amount=eur(amount),
                        invoice_date=date(2026, 1, 1), due_on=due, actor="erp")  # fmt: skip
    with uow.read() as s:
        live = ageing(s, distributor_id="actebis", as_of=date(2026, 3, 2))
    # 1 day, not due, 59 days
    assert live.source == "live" and live.totals.amounts == {
        "not_due": 70000,
        "1_30": 100000,
        "31_60": 30000,
        "61_90": 0,
        "over_90": 0,
    }
    clock.set_now("2026-03-03T09:00:00+00:00")
    with uow.write() as s:
        ledger.release(s, distributor_id="actebis", reseller_id="R-1", drawing_reference="D-0", reference="P",
                       amount=eur(1000), kind="payment", actor="erp")  # fmt: skip
    with uow.read() as s:
        past = ageing(s, distributor_id="actebis", as_of=date(2026, 3, 2))
    assert past.source == "ledger" and past.totals.amounts == live.totals.amounts
    assert [(row.key, row.amounts) for row in past.funders] == [(row.key, row.amounts) for row in live.funders]

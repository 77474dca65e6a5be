"""Properties of the ageing report (SPEC §18), on both databases: whatever the drawings, their due
dates, the payments and the date asked, the buckets add up to the outstanding — per reseller, per
funder and in total — and the outstanding is what the drawings still owe; each euro sits in the
bucket of its drawing's days overdue. A past date read from the ledger agrees with the live
report asked on that date."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditlines import clock, ledger
from creditlines.errors import InsufficientCredit
from creditlines.ledger import ageing as ageing_module
from creditlines.ledger.ageing import BUCKETS, AgeingRow, ageing, bucket_of, reads_backwards
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


def _reseller(uow, prefix: str, *, base: int) -> str:
    """A new reseller of Actebis (made with its vendors on the first example: the fixture's
    database lives across the examples), on the story's first day: a base line of ``base`` euros
    and a Microsoft line of 1,000,000 for Microsoft's products."""
    clock.set_now(f"{START.isoformat()}T09:00:00+00:00")
    with uow.read() as s:
        first = lookup.get_distributor(s, "actebis") is None
    if first:
        make_world(uow)
    r = f"{prefix}-{next(COUNTER)}"
    with uow.write() as s:
        ledger.upsert_reseller(s, distributor_id="actebis", reseller_id=r, name=r, actor="test")
        ledger.set_base_limit(s, distributor_id="actebis", reseller_id=r, limit=eur(base), reason="t", actor="t")
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
    return r


def _sum(row: AgeingRow) -> int:
    return sum(row.amounts[b] for b in BUCKETS)


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=drawings, asked=st.integers(min_value=0, max_value=320))
def test_the_buckets_add_up_to_the_outstanding(uow, book, asked):
    r = _reseller(uow, "P", base=1_000_000)
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


# ------------------------------------------------------------------- a past date, against its definition

timeline = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=40),  # posted this many days after 2 March
        st.integers(min_value=0, max_value=60),  # terms in days
        st.integers(min_value=0, max_value=100),  # percent of it paid
        st.integers(min_value=0, max_value=40),  # paid this many days after posting
        st.booleans(),  # drawn for the vendor
        st.integers(min_value=1, max_value=5000),  # amount in euros
    ),
    min_size=0,
    max_size=6,
)
END = START + timedelta(days=90)  # the day the reports are asked (every date asked is before it)


def _by_definition(s, day: date, vendor_id: str | None) -> dict[str, dict[str, dict[str, int]]]:
    """SPEC §18's words for a past date, in Python: every line entry of a drawing up to the end of
    ``day`` (Paris), summed per drawing and line; what is above 0 goes to its drawing's bucket."""
    from sqlalchemy import select

    from creditlines.ledger.models import Drawing, LedgerEntry, Line

    until = datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo("Europe/Paris"))
    sums: dict[tuple[str, str, str], int] = {}
    for e in s.scalars(select(LedgerEntry).where(LedgerEntry.distributor_id == "actebis")):
        if e.drawing_reference is None or e.line_id is None or e.drawn_delta_minor is None or e.at >= until:
            continue
        key = (e.reseller_id, e.drawing_reference, e.line_id)
        sums[key] = sums.get(key, 0) + e.drawn_delta_minor
    due = {(d.reseller_id, d.reference): d.due_on for d in s.scalars(select(Drawing))}
    lines = {line.id: line for line in s.scalars(select(Line))}
    out: dict[str, dict[str, dict[str, int]]] = {"resellers": {}, "funders": {}}
    for (r, ref, line_id), amount in sums.items():
        line = lines[line_id]
        if amount <= 0 or (vendor_id is not None and line.vendor_id != vendor_id):
            continue
        b = bucket_of((day - due[(r, ref)]).days)
        for scope, key in (("resellers", r), ("funders", line.funder)):
            row = out[scope].setdefault(key, dict.fromkeys(BUCKETS, 0))
            row[b] += amount
    return out


@pytest.mark.slow
@pytest.mark.parametrize("backwards", [False, True], ids=["forwards", "backwards"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=timeline, asked=st.integers(min_value=-1, max_value=89))
def test_a_past_date_is_the_ledger_up_to_that_day(uow, monkeypatch, backwards, book, asked):
    """A past date is read forwards (the entries up to it) or backwards (today's allocations less
    the entries since), each forced here: either must give what the entries up to that day give,
    per reseller, per funder, for the vendor's view too — and, for this example's reseller, what
    its drawings owed that day, worked out here."""
    monkeypatch.setattr(ageing_module, "reads_backwards", lambda *_: backwards)
    r = _reseller(uow, "T", base=6000)
    events = []  # (day, order, drawing): drawings before payments on the same day
    for i, (posted, _terms, paid, after, _vendor, _amount) in enumerate(book):
        # the base line (6,000) holds six other drawings; the vendor's spill onto its line
        events.append((posted, 0, i))
        if paid:
            events.append((posted + after, 1, i))
    day = START + timedelta(days=asked)
    owed: dict[int, tuple[int, date]] = {}
    refused: set[int] = set()  # over the limits: not posted, nor paid
    for n, (offset, what, i) in enumerate(sorted(events)):
        posted, terms, paid, _after, vendor, amount = book[i]
        amount = amount if vendor else 1 + amount % 1000
        if i in refused:
            continue
        clock.set_now(f"{(START + timedelta(days=offset)).isoformat()}T09:{n % 60:02d}:00+00:00")
        minor = to_minor(eur(amount))
        try:
            with uow.write() as s:
                if what == 0:
                    ledger.draw(
                        s,
                        distributor_id="actebis",
                        reseller_id=r,
                        reference=f"D-{i}",
                        amount=eur(amount),
                        vendor_id="microsoft" if vendor else None,
                        due_on=START + timedelta(days=posted + terms),
                        actor="erp",
                    )
                else:
                    ledger.release(
                        s,
                        distributor_id="actebis",
                        reseller_id=r,
                        drawing_reference=f"D-{i}",
                        reference="PAY",
                        amount=from_minor(minor * paid // 100, "EUR"),
                        kind="payment",
                        actor="erp",
                    )
        except InsufficientCredit:
            refused.add(i)
            continue
        if START + timedelta(days=offset) <= day:
            left = minor if what == 0 else owed[i][0] - minor * paid // 100
            owed[i] = (left, START + timedelta(days=posted + terms))
    clock.set_now(f"{END.isoformat()}T09:00:00+00:00")
    with uow.read() as s:
        for vendor_id in (None, "microsoft"):
            report = ageing(s, distributor_id="actebis", as_of=day, vendor_id=vendor_id)
            assert report.source == "ledger"
            expected = _by_definition(s, day, vendor_id)
            assert {row.key: row.amounts for row in report.resellers} == expected["resellers"]
            assert {row.key: row.amounts for row in report.funders} == expected["funders"]
            for b in BUCKETS:
                assert report.totals.amounts[b] == sum(row[b] for row in expected["resellers"].values())
        report = ageing(s, distributor_id="actebis", as_of=day)
    mine = {row.key: row.amounts for row in report.resellers}.get(r)
    by_hand = dict.fromkeys(BUCKETS, 0)
    for left, due_on in owed.values():
        by_hand[bucket_of((day - due_on).days)] += left
    assert mine == (by_hand if sum(by_hand.values()) else None)


def test_a_past_date_is_read_backwards_in_the_last_third_of_the_book():
    """Backwards when less than a third of the distributor's life lies after the date."""
    utc = ZoneInfo("UTC")
    created, now = datetime(2025, 1, 1, tzinfo=utc), datetime(2026, 1, 1, tzinfo=utc)
    assert reads_backwards(created, datetime(2025, 12, 1, tzinfo=utc), now)  # 31 days after, 334 before
    assert reads_backwards(created, datetime(2025, 10, 1, tzinfo=utc), now)  # 92 after, 273 before
    assert not reads_backwards(created, datetime(2025, 8, 1, tzinfo=utc), now)  # 153 after, 212 before
    assert not reads_backwards(created, datetime(2025, 3, 1, tzinfo=utc), now)
    assert not reads_backwards(now, datetime(2025, 12, 1, tzinfo=utc), now)  # history older than the book

"""The ledger told as the business tells it. Each story ends with `verify` agreeing."""

from __future__ import annotations

from datetime import date

import pytest

from creditlines import clock, ledger
from creditlines.errors import (
    AccountOnHold,
    IdempotencyConflict,
    InsufficientCredit,
    NotFound,
    ReleaseExceedsOutstanding,
    ResellerTerminated,
)
from creditlines.ledger.verify import verify
from tests.factories import eur, make_reseller, make_world

D = "actebis"


@pytest.fixture
def world(uow):
    make_world(uow)
    return uow


def draw(uow, reseller, reference, amount, vendor_id=None):
    with uow.write() as s:
        return ledger.draw(
            s,
            distributor_id=D,
            reseller_id=reseller,
            reference=reference,
            amount=eur(amount),
            vendor_id=vendor_id,
            actor="erp",
        )


def release(uow, reseller, drawing, reference, amount, kind="payment"):
    with uow.write() as s:
        return ledger.release(
            s,
            distributor_id=D,
            reseller_id=reseller,
            drawing_reference=drawing,
            reference=reference,
            amount=eur(amount),
            kind=kind,
            actor="erp",
        )


def availability(uow, reseller, as_of=None):
    with uow.read() as s:
        return ledger.availability(s, distributor_id=D, reseller_id=reseller, as_of=as_of)


def grant_mezzanine(uow, reseller, limit="5000.00", valid_until=date(2026, 6, 30), **kw):
    with uow.write() as s:
        return ledger.grant_programme_line(
            s,
            distributor_id=D,
            reseller_id=reseller,
            vendor_id="microsoft",
            programme_id=None,
            limit=eur(limit),
            valid_until=valid_until,
            actor="partner",
            **kw,
        )


def assert_ledger_agrees(uow):
    with uow.snapshot() as s:
        assert verify(s) == []


def test_a_base_line_lets_a_reseller_order_up_to_its_limit(world):
    make_reseller(world, "R-1001", "10000.00")
    view = availability(world, "R-1001")
    assert view.total_available == eur("10000.00") and view.lines[0].funder == "actebis"

    drawing, created = draw(world, "R-1001", "SO-1", "10000.00")  # equal to the headroom: accepted
    assert created and drawing.status == "open" and drawing.outstanding == eur("10000.00")
    with pytest.raises(InsufficientCredit) as refused:
        draw(world, "R-1001", "SO-2", "0.01")
    assert refused.value.extra["shortfall"] == eur("0.01")
    assert availability(world, "R-1001").total_available == eur(0)
    assert_ledger_agrees(world)


def test_an_order_beyond_the_base_flows_into_mezzanine(world):
    """Actebis grants R-1001 10,000; Microsoft enrols it in Mezzanine for 5,000;
    an order of 12,000 draws 10,000 from base and 2,000 from Mezzanine."""
    make_reseller(world, "R-1001", "10000.00")
    mezzanine = grant_mezzanine(world, "R-1001")

    drawing, _ = draw(world, "R-1001", "SO-12000", "12000.00")

    assert [(a.funder, a.amount) for a in drawing.allocations] == [
        ("actebis", eur("10000.00")),
        ("microsoft", eur("2000.00")),
    ]
    view = availability(world, "R-1001")
    assert view.total_limit == eur("15000.00")
    assert view.total_drawn == eur("12000.00")
    assert view.total_available == eur("3000.00")
    mezz = next(line for line in view.lines if line.id == mezzanine.id)
    assert mezz.drawn == eur("2000.00") and mezz.available == eur("3000.00")
    assert_ledger_agrees(world)


def test_a_partial_payment_frees_vendor_money_first(world):
    make_reseller(world, "R-1001", "10000.00")
    grant_mezzanine(world, "R-1001")
    draw(world, "R-1001", "SO-1", "12000.00")

    after, _ = release(world, "R-1001", "SO-1", "PAY-1", "2500.00")

    assert after.outstanding == eur("9500.00")
    by_funder = {a.funder: a.outstanding for a in after.allocations}
    assert by_funder == {"microsoft": eur("0.00"), "actebis": eur("9500.00")}
    settled, _ = release(world, "R-1001", "SO-1", "PAY-2", "9500.00")
    assert settled.status == "settled" and settled.outstanding == eur(0)
    assert availability(world, "R-1001").total_available == eur("15000.00")
    assert_ledger_agrees(world)


def test_a_cut_leaves_the_reseller_over_limit_and_eats_vendor_headroom_first(world):
    make_reseller(world, "R-2002", "8000.00")
    grant_mezzanine(world, "R-2002", limit="5000.00")
    draw(world, "R-2002", "SO-1", "7000.00")  # all on base

    with world.write() as s:  # the insurer cuts cover: Actebis cuts the line to 4,000
        ledger.set_base_limit(
            s, distributor_id=D, reseller_id="R-2002", limit=eur("4000.00"), reason="insurer cut cover", actor="officer"
        )

    view = availability(world, "R-2002")
    base = view.lines[0]
    assert base.available == eur("-3000.00")
    # 5,000 of Mezzanine minus the 3,000 the base is over: only 2,000 left to order.
    assert view.total_available == eur("2000.00") and not view.over_limit
    with pytest.raises(InsufficientCredit):
        draw(world, "R-2002", "SO-2", "2000.01")
    drawing, _ = draw(world, "R-2002", "SO-2", "2000.00")
    assert [(a.funder, a.amount) for a in drawing.allocations] == [("microsoft", eur("2000.00"))]

    with world.write() as s:  # cut to zero: no credit at all, and the reseller is over limit
        ledger.set_base_limit(
            s, distributor_id=D, reseller_id="R-2002", limit=eur(0), reason="cover withdrawn", actor="officer"
        )
    view = availability(world, "R-2002")
    assert view.total_available == eur(0) and view.over_limit
    assert_ledger_agrees(world)


def test_a_limit_of_zero_means_no_credit_not_unlimited(world):
    make_reseller(world, "R-0", "0.00")
    with pytest.raises(InsufficientCredit):
        draw(world, "R-0", "SO-1", "0.01")


def test_a_hold_blocks_orders_but_not_payments(world):
    make_reseller(world, "R-3003", "5000.00")
    draw(world, "R-3003", "SO-1", "1000.00")
    with world.write() as s:
        ledger.place_hold(s, distributor_id=D, reseller_id="R-3003", reason="cheque bounced", actor="officer")

    with pytest.raises(AccountOnHold):
        draw(world, "R-3003", "SO-2", "10.00")
    with world.read() as s:
        decision = ledger.check_eligibility(s, distributor_id=D, reseller_id="R-3003", amount=eur("10.00"))
    assert not decision.eligible and [r.code for r in decision.reasons] == ["account_on_hold"]
    paid, _ = release(world, "R-3003", "SO-1", "PAY-1", "1000.00")
    assert paid.status == "settled"

    with world.write() as s:
        ledger.lift_hold(s, distributor_id=D, reseller_id="R-3003", reason="paid", actor="officer")
    draw(world, "R-3003", "SO-2", "10.00")
    assert_ledger_agrees(world)


def test_termination_revokes_vendor_lines_and_follows_their_expiry_rule(world):
    make_reseller(world, "R-4004", "1000.00")
    transfer = grant_mezzanine(world, "R-4004", limit="3000.00")
    run_off = grant_mezzanine(world, "R-4004", limit="2000.00", valid_until=date(2026, 9, 30), on_expiry="run_off")
    draw(world, "R-4004", "SO-1", "5500.00")  # 1,000 base, 3,000 Mezzanine, 1,500 run-off line

    with world.write() as s:
        ledger.terminate(s, distributor_id=D, reseller_id="R-4004", reason="insolvency", actor="officer")

    view = availability(world, "R-4004")
    lines = {line.id: line for line in view.lines}
    assert view.status == "terminated"
    # The revoked Mezzanine line had its 3,000 moved to base: nothing left on it, so the
    # view leaves it out; the ledger says what happened.
    assert transfer.id not in lines
    assert lines[run_off.id].status == "revoked" and lines[run_off.id].drawn == eur("1500.00")
    with world.read() as s:
        entries = ledger.ledger_entries(s, distributor_id=D, reseller_id="R-4004", after_seq=None, limit=100)
    revoked = {e.line_id for e in entries if e.kind == "line_revoked"}
    assert revoked == {transfer.id, run_off.id}
    moved = [(e.line_id, e.drawn_delta_minor) for e in entries if e.kind.startswith("drawn_transferred")]
    assert moved == [(transfer.id, -300000), (view.lines[0].id, 300000)]
    assert view.lines[0].drawn == eur("4000.00")  # base now carries the transferred 3,000
    assert view.over_limit and view.total_available == eur(0)

    with pytest.raises(ResellerTerminated):
        draw(world, "R-4004", "SO-2", "1.00")
    with pytest.raises(ResellerTerminated):
        grant_mezzanine(world, "R-4004")
    # Money coming in is never refused; it frees the vendor's run-off exposure first.
    after, _ = release(world, "R-4004", "SO-1", "PAY-1", "2000.00")
    by_line = {a.line_id: a.outstanding for a in after.allocations}
    assert by_line[run_off.id] == eur(0)
    assert after.outstanding == eur("3500.00")
    assert_ledger_agrees(world)


def test_a_vendor_products_line_only_serves_that_vendors_orders(world):
    make_reseller(world, "R-5005", "1000.00")
    grant_mezzanine(world, "R-5005", usable_for="vendor_products")

    with world.read() as s:
        plain = ledger.check_eligibility(s, distributor_id=D, reseller_id="R-5005", amount=eur("3000.00"))
        microsoft = ledger.check_eligibility(
            s, distributor_id=D, reseller_id="R-5005", amount=eur("3000.00"), vendor_id="microsoft"
        )
        hp = ledger.check_eligibility(s, distributor_id=D, reseller_id="R-5005", amount=eur("3000.00"), vendor_id="hp")
    assert not plain.eligible and plain.available == eur("1000.00") and plain.shortfall == eur("2000.00")
    assert microsoft.eligible and [p.funder for p in microsoft.plan] == ["actebis", "microsoft"]
    assert not hp.eligible
    # The availability view still counts the restricted line.
    assert availability(world, "R-5005").total_available == eur("6000.00")


def test_programme_lines_are_drawn_by_earliest_end_then_oldest_grant(world):
    make_reseller(world, "R-6006", "0.00")
    late = grant_mezzanine(world, "R-6006", limit="1000.00", valid_until=date(2026, 9, 30))
    early_old = grant_mezzanine(world, "R-6006", limit="1000.00", valid_until=date(2026, 6, 30))
    early_new = grant_mezzanine(world, "R-6006", limit="1000.00", valid_until=date(2026, 6, 30))

    drawing, _ = draw(world, "R-6006", "SO-1", "2500.00")
    assert [(a.line_id, a.amount) for a in drawing.allocations] == [
        (early_old.id, eur("1000.00")),
        (early_new.id, eur("1000.00")),
        (late.id, eur("500.00")),
    ]
    after, _ = release(world, "R-6006", "SO-1", "CN-1", "1200.00", kind="credit_note")
    assert {a.line_id: a.outstanding for a in after.allocations} == {
        early_old.id: eur("1000.00"),
        early_new.id: eur("300.00"),
        late.id: eur(0),
    }
    assert_ledger_agrees(world)


def test_the_erp_may_send_the_same_order_twice(world):
    make_reseller(world, "R-7007", "5000.00")
    first, created = draw(world, "R-7007", "SO-9", "1200.00")
    again, created_again = draw(world, "R-7007", "SO-9", "1200.00")
    assert created and not created_again and again == first
    with pytest.raises(IdempotencyConflict):
        draw(world, "R-7007", "SO-9", "1300.00")
    with pytest.raises(IdempotencyConflict):
        draw(world, "R-7007", "SO-9", "1200.00", vendor_id="microsoft")
    assert availability(world, "R-7007").total_drawn == eur("1200.00")

    paid, _ = release(world, "R-7007", "SO-9", "PAY-1", "200.00")
    repaid, created = release(world, "R-7007", "SO-9", "PAY-1", "200.00")
    assert not created and repaid.outstanding == eur("1000.00")
    with pytest.raises(IdempotencyConflict):
        release(world, "R-7007", "SO-9", "PAY-1", "300.00")
    assert_ledger_agrees(world)


def test_a_refused_order_can_be_retried_once_credit_is_freed(world):
    make_reseller(world, "R-8008", "1000.00")
    draw(world, "R-8008", "SO-1", "800.00")
    with pytest.raises(InsufficientCredit):
        draw(world, "R-8008", "SO-2", "500.00")
    release(world, "R-8008", "SO-1", "PAY-1", "300.00")
    drawing, created = draw(world, "R-8008", "SO-2", "500.00")
    assert created and drawing.amount == eur("500.00")


def test_a_release_never_exceeds_the_outstanding(world):
    make_reseller(world, "R-9009", "1000.00")
    draw(world, "R-9009", "SO-1", "500.00")
    with pytest.raises(ReleaseExceedsOutstanding):
        release(world, "R-9009", "SO-1", "PAY-1", "500.01")
    with world.read() as s:
        assert ledger.get_drawing(s, distributor_id=D, reseller_id="R-9009", reference="SO-1").outstanding == eur(
            "500.00"
        )
        entries = ledger.ledger_entries(s, distributor_id=D, reseller_id="R-9009", after_seq=None, limit=100)
    assert "release_posted" not in {e.kind for e in entries}


def test_availability_in_the_past_reads_the_ledger_as_it_stood(world):
    make_reseller(world, "R-1010", "10000.00")
    with clock.frozen("2026-03-05T10:00:00+01:00"):
        draw(world, "R-1010", "SO-1", "4000.00")
    with clock.frozen("2026-03-10T10:00:00+01:00"):
        with world.write() as s:
            ledger.set_base_limit(
                s, distributor_id=D, reseller_id="R-1010", limit=eur("6000.00"), reason="review", actor="officer"
            )
        then = availability(world, "R-1010", as_of=clock.parse_instant("2026-03-06T00:00:00+01:00"))
        now = availability(world, "R-1010")
    assert (then.total_limit, then.total_drawn, then.total_available) == (
        eur("10000.00"),
        eur("4000.00"),
        eur("6000.00"),
    )
    assert (now.total_limit, now.total_available) == (eur("6000.00"), eur("2000.00"))


def test_availability_in_the_future_is_a_projection_without_expired_lines(world):
    make_reseller(world, "R-1111", "1000.00")
    grant_mezzanine(world, "R-1111")  # until 30 June
    july = availability(world, "R-1111", as_of=clock.parse_instant("2026-07-01T08:00:00+02:00"))
    june = availability(world, "R-1111", as_of=clock.parse_instant("2026-06-30T23:00:00+02:00"))
    assert june.total_available == eur("6000.00")
    assert july.total_available == eur("1000.00")
    assert [line.status for line in july.lines] == ["active"]  # expired and undrawn: not shown


def test_a_late_copy_of_an_order_is_answered_even_after_hold_or_termination(world):
    """The ERP's retry of an order it already posted gets that order back — as it stands now —
    whatever happened to the reseller since; a new order is refused with the reason."""
    make_reseller(world, "R-9009", "3000.00")
    grant_mezzanine(world, "R-9009", "2000.00")
    first, _ = draw(world, "R-9009", "SO-1", "4000.00", vendor_id="microsoft")
    assert [(a.funder, a.amount) for a in first.allocations] == [
        ("actebis", eur("3000.00")),
        ("microsoft", eur("1000.00")),
    ]
    release(world, "R-9009", "SO-1", "PAY-1", "500.00")
    with world.write() as s:
        ledger.place_hold(s, distributor_id=D, reseller_id="R-9009", reason="overdue", actor="officer")
    copy, created = draw(world, "R-9009", "SO-1", "4000.00", vendor_id="microsoft")
    assert not created and copy.outstanding == eur("3500.00")
    assert [a.outstanding for a in copy.allocations] == [eur("3000.00"), eur("500.00")]  # vendor money freed first
    with pytest.raises(AccountOnHold, match="on hold"):
        draw(world, "R-9009", "SO-2", "1.00")
    with world.write() as s:
        ledger.terminate(s, distributor_id=D, reseller_id="R-9009", reason="insolvent", actor="officer")
    again, created = draw(world, "R-9009", "SO-1", "4000.00", vendor_id="microsoft")
    assert not created and again.reference == "SO-1" and again.amount == eur("4000.00")
    with pytest.raises(IdempotencyConflict):
        draw(world, "R-9009", "SO-1", "4000.01", vendor_id="microsoft")
    with pytest.raises(ResellerTerminated, match="terminated"):
        draw(world, "R-9009", "SO-3", "1.00")
    with pytest.raises(NotFound):
        draw(world, "R-NOBODY", "SO-1", "1.00")
    assert_ledger_agrees(world)

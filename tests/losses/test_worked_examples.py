"""Who bears the loss, with the numbers written out (SPEC §19, §20), on both databases."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from creditlines import clock, ledger
from creditlines.decisions import insurance, policy, reports
from creditlines.errors import IdempotencyConflict, NothingOutstanding, NotInDefault
from creditlines.events.models import Event
from creditlines.jobs.expiry import run_expiry
from creditlines.ledger.repository import lines_of
from creditlines.losses import claims, defaults, writeoffs
from creditlines.losses.verify import verify_all as verify
from tests.factories import eur, make_reseller, make_world


def _cover(uow, reseller_id: str, cover: str, decided_on: date, effective_on: date | None = None):
    with uow.write() as s:
        return insurance.set_cover(
            s,
            distributor_id="actebis",
            reseller_id=reseller_id,
            insurer="Coface",
            cover=eur(cover),
            decided_on=decided_on,
            effective_on=effective_on,
            reference=None,
            actor="credit_officer:k1",
        )


def _draw(uow, reseller_id: str, reference: str, amount: str) -> None:
    with uow.write() as s:
        ledger.draw(
            s, distributor_id="actebis", reseller_id=reseller_id, reference=reference, amount=eur(amount), actor="erp"
        )


def _default_and_write_off(uow, reseller_id: str, reference: str = "WO-1"):
    with uow.write() as s:
        defaults.declare(
            s,
            distributor_id="actebis",
            reseller_id=reseller_id,
            reason="insolvency proceedings opened",
            declared_on=clock.local_today("Europe/Paris"),
            actor="credit_officer:k1",
        )
    with uow.write() as s:
        result, created = writeoffs.write_off(
            s,
            distributor_id="actebis",
            reseller_id=reseller_id,
            reference=reference,
            reason="liquidation",
            drawings=None,
            actor="credit_officer:k1",
        )
        assert created
        return {(c.funder_kind, c.funder): (c.written_off_minor, c.amount_minor) for c in result.claims}, result


def _base_limit(uow, reseller_id: str) -> int:
    with uow.read() as s:
        return next(line for line in lines_of(s, "actebis", reseller_id) if line.kind == "base").limit_minor


def test_a_cut_with_thirty_days_notice_waits_for_its_date_and_a_drawing_shipped_before_keeps_its_insured_share(uow):
    """Coface covers R-1 for 8,000 (cap = cover + 2,000 discretionary = 10,000). On Monday 2 March
    it cuts the cover to 2,000 with 30 days' notice, effective 1 April. Until 1 April nothing
    changes; an order of 6,000 shipped on 10 March is insured under the 8,000. On 1 April the cap
    is 4,000 at read time, and the nightly job cuts the base limit from 10,000 to 4,000. When
    R-1 defaults, the 6,000 is insured in full (cover 8,000 on its invoice date), so the claim on
    Coface is 6,000 × 90 % = 5,400 — not 2,000 × 90 % = 1,800 under the cover after the cut."""
    make_world(uow)
    make_reseller(uow, "R-1", "10000.00")
    with uow.write() as s:
        policy.update(
            s,
            distributor_id="actebis",
            actor="t",
            base_cap_policy="cover_plus_discretionary",
            discretionary=eur("2000.00"),
        )
    _cover(uow, "R-1", "8000.00", date(2026, 3, 2))
    decision = _cover(uow, "R-1", "2000.00", date(2026, 3, 2), effective_on=date(2026, 4, 1))
    assert decision.scheduled and not decision.limit_cut
    assert _base_limit(uow, "R-1") == 1_000_000
    with uow.read() as s:
        scheduled = s.scalars(select(Event).where(Event.type == "insurance.cut_scheduled")).one()
        assert json.loads(scheduled.data) | {} == {
            "insurer": "Coface",
            "before_minor": 800_000,
            "after_minor": 200_000,
            "decided_on": "2026-03-02",
            "effective_on": "2026-04-01",
            "reference": None,
        }
        assert policy.insured_cap(s, "actebis", "R-1") == 1_000_000  # 8,000 + 2,000 until the date
        assert policy.cover_in_force(s, "actebis", "R-1", date(2026, 3, 31)).cover_minor == 800_000
        assert policy.cover_in_force(s, "actebis", "R-1", date(2026, 4, 1)).cover_minor == 200_000
        [row] = list(reports.cover_cuts(s, distributor_id="actebis", since=date(2026, 3, 1)))
        assert (row.effective_on, row.scheduled, row.cover_before, row.cover_after) == (
            "2026-04-01",
            True,
            "8000.00",
            "2000.00",
        )

    clock.set_now("2026-03-10T09:00:00+00:00")
    _draw(uow, "R-1", "SO-1", "6000.00")

    clock.set_now("2026-04-01T06:00:00+00:00")  # 08:00 in Paris on the date
    with uow.read() as s:
        assert policy.insured_cap(s, "actebis", "R-1") == 400_000  # at read time, before the job
    assert _base_limit(uow, "R-1") == 1_000_000
    for _night in range(2):
        [report] = run_expiry(uow, as_of=date(2026, 4, 1))
    assert _base_limit(uow, "R-1") == 400_000  # 2,000 + 2,000, once
    with uow.read() as s:
        entries = ledger.ledger_entries(s, distributor_id="actebis", reseller_id="R-1", after_seq=None, limit=100)
    assert [e.reason for e in entries if e.kind == "limit_set"].count("insurer_cut") == 1

    found, result = _default_and_write_off(uow, "R-1")
    assert found == {("insurer", "Coface"): (600_000, 540_000)}
    assert result.own_loss_minor == 60_000
    [part] = result.parts
    assert (part.invoice_date, part.insured_minor, part.funder_kind) == (date(2026, 3, 10), 600_000, "distributor")
    with uow.snapshot() as s:
        assert verify(s) == []


def test_a_default_with_base_and_mezzanine_outstanding_gives_claims_on_microsoft_and_the_insurer(uow):
    """R-2: base limit 10,000 insured by Coface for 8,000, and Microsoft's Mezzanine line of 5,000
    (run-off). SO-1 of 6,000 (2 March) sits on the base; SO-2 of 7,000 (3 March) takes the last
    4,000 of the base and 3,000 of Mezzanine. R-2 defaults and everything is written off:
    * Microsoft bears its 3,000 → a claim of 3,000 on Microsoft;
    * the base lost 10,000, of which insured: SO-1 6,000 (of the 8,000 cover), SO-2 2,000 (what is
      left of it) = 8,000 → a claim of 8,000 × 90 % = 7,200 on Coface;
    * the distributor's own loss: 10,000 − 7,200 = 2,800."""
    make_world(uow)
    make_reseller(uow, "R-2", "10000.00")
    _cover(uow, "R-2", "8000.00", date(2026, 3, 2))
    with uow.write() as s:
        ledger.grant_programme_line(
            s,
            distributor_id="actebis",
            reseller_id="R-2",
            vendor_id="microsoft",
            programme_id=None,
            limit=eur("5000.00"),
            valid_until=date(2026, 6, 30),
            on_expiry="run_off",
            actor="partner_manager:microsoft",
        )
    _draw(uow, "R-2", "SO-1", "6000.00")
    clock.set_now("2026-03-03T09:00:00+00:00")
    _draw(uow, "R-2", "SO-2", "7000.00")
    clock.set_now("2026-03-20T09:00:00+00:00")
    with uow.write() as s, pytest.raises(NotInDefault):
        writeoffs.write_off(
            s, distributor_id="actebis", reseller_id="R-2", reference="WO-1", reason="x", drawings=None, actor="k"
        )

    found, result = _default_and_write_off(uow, "R-2")
    assert found == {("vendor", "microsoft"): (300_000, 300_000), ("insurer", "Coface"): (800_000, 720_000)}
    assert result.own_loss_minor == 280_000
    assert [(p.drawing_reference, p.funder_kind, p.amount_minor, p.insured_minor) for p in result.parts] == [
        ("SO-1", "distributor", 600_000, 600_000),
        ("SO-2", "distributor", 400_000, 200_000),
        ("SO-2", "vendor", 300_000, 0),
    ]
    with uow.read() as s:
        reseller = ledger.get_reseller(s, distributor_id="actebis", reseller_id="R-2")
        assert reseller.status == "terminated"
        lines = lines_of(s, "actebis", "R-2")
        assert sorted(line.drawn_minor for line in lines) == [0, 0]
        drawings = ledger.list_drawings(s, distributor_id="actebis", reseller_id="R-2", after=None, limit=10)
        assert {d.reference: (d.status, str(d.outstanding.amount)) for d in drawings} == {
            "SO-1": ("written_off", "0.00"),
            "SO-2": ("written_off", "0.00"),
        }
        types = [e.type for e in s.scalars(select(Event).order_by(Event.id))]
        assert types.count("drawing.written_off") == 2 and types.count("claim.opened") == 2
        assert "reseller.defaulted" in types
        vendor_event = s.scalars(
            select(Event).where(Event.type == "claim.opened", Event.vendor_id == "microsoft")
        ).one()
        assert json.loads(vendor_event.data)["amount_minor"] == 300_000

    # The same body again: the same write-off; another body: a conflict; nothing left: refused.
    with uow.write() as s:
        again, created = writeoffs.write_off(
            s,
            distributor_id="actebis",
            reseller_id="R-2",
            reference="WO-1",
            reason="liquidation",
            drawings=None,
            actor="k",
        )
        assert not created and again.write_off.amount_minor == 1_300_000
    with uow.write() as s, pytest.raises(IdempotencyConflict):
        writeoffs.write_off(
            s, distributor_id="actebis", reseller_id="R-2", reference="WO-1", reason="other", drawings=None, actor="k"
        )
    with uow.write() as s, pytest.raises(NothingOutstanding):
        writeoffs.write_off(
            s, distributor_id="actebis", reseller_id="R-2", reference="WO-2", reason="x", drawings=None, actor="k"
        )

    # Microsoft pays its 3,000; Coface pays 7,000 of its 7,200.
    with uow.write() as s:
        by_funder = {c.funder: c for c in claims.list_claims(s, distributor_id="actebis")}
        claims.settle(
            s,
            distributor_id="actebis",
            claim_id=by_funder["microsoft"].id,
            status="paid",
            amount_paid=None,
            reference="MS-REMIT-1",
            actor="credit_officer:k1",
        )
        claims.settle(
            s,
            distributor_id="actebis",
            claim_id=by_funder["Coface"].id,
            status="paid",
            amount_paid=eur("7000.00"),
            reference="COFACE-881",
            actor="credit_officer:k1",
        )
    with uow.read() as s:
        settled = {c.funder: (c.status, c.amount_paid_minor) for c in claims.list_claims(s, distributor_id="actebis")}
        assert settled == {"microsoft": ("paid", 300_000), "Coface": ("paid", 700_000)}
        assert [c.funder for c in claims.vendor_claims(s, vendor_id="microsoft")] == ["microsoft"]
        assert claims.vendor_claims(s, vendor_id="hp") == []
    with uow.snapshot() as s:
        assert verify(s) == []

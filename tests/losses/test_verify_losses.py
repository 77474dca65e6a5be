"""`creditlines verify` proves the losses too: per allocation drawn = outstanding + released +
transferred + written off, and the claims add up to the write-offs by funder (SPEC §20)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from creditlines import clock, ledger
from creditlines.decisions import insurance
from creditlines.losses import defaults, writeoffs
from creditlines.losses.verify import verify_all
from tests.factories import eur, make_reseller, make_world

APPEND_ONLY = ("ledger_entry", "write_off", "write_off_part")


def story(uow) -> None:
    """R-2 of the worked example: base 10,000 and Mezzanine 3,000 written off; claims of 3,000 on
    Microsoft and 7,200 on Coface."""
    make_world(uow)
    make_reseller(uow, "R-2", "10000.00")
    with uow.write() as s:
        insurance.set_cover(
            s,
            distributor_id="actebis",
            reseller_id="R-2",
            insurer="Coface",
            cover=eur("8000.00"),
            decided_on=date(2026, 3, 2),
            reference=None,
            actor="k1",
        )
        ledger.grant_programme_line(
            s,
            distributor_id="actebis",
            reseller_id="R-2",
            vendor_id="microsoft",
            programme_id=None,
            limit=eur("5000.00"),
            valid_until=date(2026, 6, 30),
            on_expiry="run_off",
            actor="pm",
        )
        ledger.draw(s, distributor_id="actebis", reseller_id="R-2", reference="SO-1", amount=eur("13000.00"), actor="e")
    clock.set_now("2026-03-20T09:00:00+00:00")
    with uow.write() as s:
        defaults.declare(
            s,
            distributor_id="actebis",
            reseller_id="R-2",
            reason="insolvency",
            declared_on=date(2026, 3, 20),
            actor="k1",
        )
        writeoffs.write_off(
            s,
            distributor_id="actebis",
            reseller_id="R-2",
            reference="WO-1",
            reason="liquidation",
            drawings=None,
            actor="k1",
        )


TAMPERING = {
    "update claim set amount_minor = amount_minor - 1 where funder_kind = 'vendor'": {
        ("claim", "amount vs ledger"),
        ("write-off", "claim vs write-off"),
    },
    "update claim set amount_minor = amount_minor + 1 where funder_kind = 'insurer'": {
        ("claim", "amount vs ledger"),
        ("claim", "amount vs rate"),
        ("write-off", "claim vs write-off"),
    },
    "delete from claim where funder_kind = 'vendor'": {("claim", "exists"), ("write-off", "claim vs write-off")},
    "update claim set status = 'paid', settled_at = created_at, amount_paid_minor = amount_minor": {
        ("claim", "settlement vs ledger"),
    },
    "update write_off_part set insured_minor = insured_minor - 100 where funder_kind = 'distributor'": {
        ("write-off", "claim vs write-off"),
    },
    "update write_off_part set amount_minor = amount_minor - 100 where funder_kind = 'vendor'": {
        ("write-off", "amount vs parts"),
        ("write-off", "parts vs ledger"),
        ("write-off", "claim vs write-off"),
    },
    "update ledger_entry set amount_minor = amount_minor + 1 where kind = 'written_off'": {
        ("drawing", "outstanding vs ledger"),
        ("drawing", "outstanding vs releases"),
        ("write-off", "parts vs ledger"),
    },
    "update ledger_entry set drawn_delta_minor = drawn_delta_minor + 1 where kind = 'written_off'": {
        ("line", "drawn"),
        ("allocation", "outstanding vs ledger"),
    },
    "update allocation set outstanding_minor = 1 where funder = 'microsoft'": {
        ("allocation", "outstanding vs ledger"),
        ("drawing", "outstanding vs allocations"),
        ("line", "drawn vs open allocations"),
    },
    "update ledger_entry set amount_minor = amount_minor + 1 where kind = 'claim_opened'": {
        ("claim", "amount vs ledger"),
    },
}


def _bypass(s) -> None:
    for table in APPEND_ONLY:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text(f"alter table {table} disable trigger user"))
        else:
            s.execute(text(f"drop trigger {table}_no_update"))
            s.execute(text(f"drop trigger {table}_no_delete"))


def test_tampering_with_a_write_off_or_its_claims_is_found(uow, owner_engine):
    from creditlines.db.engine import UnitOfWork

    story(uow)
    with uow.snapshot() as s:
        assert verify_all(s) == []
    owner = UnitOfWork(owner_engine)
    found_by = {}
    try:
        for statement in TAMPERING:
            with owner.write() as s:
                s.execute(text("savepoint tamper"))
                _bypass(s)
                s.execute(text(statement))
                found_by[statement] = {(d.subject.split()[0], d.field) for d in verify_all(s)}
                s.execute(text("rollback to savepoint tamper"))
    finally:
        if owner.read_engine is not None:
            owner.read_engine.dispose()
    assert found_by == TAMPERING
    with uow.snapshot() as s:
        assert verify_all(s) == []

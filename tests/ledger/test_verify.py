"""`verify` finds every balance that the ledger does not justify, and the CLI exits 1."""

import os
import subprocess
import sys
from datetime import date

from sqlalchemy import text

from creditlines import ledger
from creditlines.ledger.verify import verify
from tests.factories import eur, make_reseller, make_world


def _story(uow):
    make_world(uow)
    make_reseller(uow, "R-1", "1000.00")
    with uow.write() as s:
        ledger.grant_programme_line(
            s,
            distributor_id="actebis",
            reseller_id="R-1",
            vendor_id="microsoft",
            programme_id=None,
            limit=eur("500.00"),
            valid_until=date(2026, 6, 30),
            actor="t",
        )
        ledger.draw(
            s, distributor_id="actebis", reseller_id="R-1", reference="SO-1", amount=eur("1200.00"), actor="erp"
        )
        ledger.release(
            s,
            distributor_id="actebis",
            reseller_id="R-1",
            drawing_reference="SO-1",
            reference="P-1",
            amount=eur("100.00"),
            kind="payment",
            actor="erp",
        )


def _differences(uow):
    with uow.snapshot() as s:
        return {(d.subject.split()[0], d.field) for d in verify(s)}


def test_an_honest_ledger_agrees(uow):
    _story(uow)
    assert _differences(uow) == set()


FORGED_ENTRY = (
    "insert into ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, drawing_reference, "
    "amount_minor) select distributor_id, reseller_id, max(seq) + 1, max(at), 'forger', 'drawing_posted', "
    "'SO-GHOST', 500 from ledger_entry group by distributor_id, reseller_id"
)
LAST_ENTRY = "(select max(seq) from ledger_entry)"

TAMPERING = {
    "update line set drawn_minor = drawn_minor + 1 where kind = 'base'": {
        ("line", "drawn"),
        ("line", "drawn vs open allocations"),
    },
    "update line set limit_minor = 999999 where kind = 'base'": {("line", "limit")},
    "update line set status = 'revoked' where kind = 'programme'": {("line", "status")},
    "update line set valid_until = '2027-01-01' where kind = 'programme'": {("line", "valid_until")},
    "update reseller set status = 'on_hold'": {("reseller", "status")},
    "update reseller set ledger_seq = ledger_seq + 1": {("reseller", "ledger_seq")},
    "update drawing set outstanding_minor = outstanding_minor - 1": {
        ("drawing", "outstanding vs allocations"),
        ("drawing", "outstanding vs releases"),
        ("drawing", "outstanding vs ledger"),
    },
    "update drawing set amount_minor = amount_minor + 1": {
        ("drawing", "amount vs allocations"),
        ("drawing", "outstanding vs releases"),
        ("drawing", "amount vs ledger"),
    },
    "update allocation set amount_minor = amount_minor + 5 where position = 0": {("drawing", "amount vs allocations")},
    # The release rows: append-only (the app role may not UPDATE or DELETE them), proven here.
    "delete from release": {("release", "exists"), ("drawing", "outstanding vs releases")},
    "update release set amount_minor = amount_minor + 1": {
        ("release", "amount vs ledger"),
        ("drawing", "outstanding vs releases"),
    },
    # The ledger itself, as the owner with its triggers bypassed.
    "delete from ledger_entry where kind = 'release_posted'": {
        ("reseller", "ledger sequence"),
        ("release", "amount vs ledger"),
        ("drawing", "outstanding vs ledger"),
    },
    "delete from ledger_entry where kind = 'drawing_posted'": {
        ("reseller", "ledger sequence"),
        ("drawing", "amount vs ledger"),
        ("drawing", "outstanding vs ledger"),
    },
    f"delete from ledger_entry where seq = {LAST_ENTRY}": {
        ("line", "drawn"),
        ("reseller", "ledger_seq"),
        ("allocation", "outstanding vs ledger"),  # drawn = outstanding + released + transferred + written off
    },
    "update allocation set outstanding_minor = outstanding_minor + 1 where position = 0": {
        ("allocation", "outstanding vs ledger"),
        ("drawing", "outstanding vs allocations"),
        ("line", "drawn vs open allocations"),
    },
    "update ledger_entry set seq = seq + 1000 where seq = 1": {
        ("reseller", "ledger sequence"),
        ("reseller", "ledger_seq"),
    },
    "update ledger_entry set amount_minor = amount_minor + 1 where kind = 'drawing_posted'": {
        ("drawing", "amount vs ledger"),
        ("drawing", "outstanding vs ledger"),
    },
    "update ledger_entry set amount_minor = amount_minor - 1 where kind = 'release_posted'": {
        ("release", "amount vs ledger"),
        ("drawing", "outstanding vs ledger"),
    },
    FORGED_ENTRY: {("drawing", "exists"), ("reseller", "ledger_seq")},
}


def _bypass_append_only(s) -> None:
    """What only the owner can do: switch off the ledger's triggers, for this transaction."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("alter table ledger_entry disable trigger user"))
    else:
        s.execute(text("drop trigger ledger_entry_no_update"))
        s.execute(text("drop trigger ledger_entry_no_delete"))


def test_tampering_with_any_balance_or_the_ledger_is_found(uow, owner_engine):
    from creditlines.db.engine import UnitOfWork

    _story(uow)
    owner = UnitOfWork(owner_engine)
    try:
        for statement, expected in TAMPERING.items():
            with owner.write() as s:
                s.execute(text("savepoint tamper"))
                _bypass_append_only(s)
                s.execute(text(statement))
                found = {(d.subject.split()[0], d.field) for d in verify(s)}
                s.execute(text("rollback to savepoint tamper"))
            assert found == expected, statement
    finally:
        if owner.read_engine is not None:
            owner.read_engine.dispose()
    assert _differences(uow) == set()


def test_the_cli_exits_1_on_a_difference(engine):
    from creditlines.db.engine import UnitOfWork

    uow = UnitOfWork(engine)
    _story(uow)
    with uow.write() as s:
        s.execute(text("update line set drawn_minor = drawn_minor + 1 where kind = 'base'"))
    env = {**os.environ, "CREDITLINES_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    result = subprocess.run([sys.executable, "-m", "creditlines", "verify"], capture_output=True, text=True, env=env)
    assert result.returncode == 1 and "DIFFERENCE" in result.stderr

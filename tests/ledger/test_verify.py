"""`verify` finds every balance that the ledger does not justify, and the CLI exits 1."""

import os
import subprocess
import sys
from datetime import date

from sqlalchemy import text

from creditlines.ledger import service
from creditlines.ledger.verify import verify
from tests.factories import eur, make_reseller, make_world


def _story(uow):
    make_world(uow)
    make_reseller(uow, "R-1", "1000.00")
    with uow.write() as s:
        service.grant_programme_line(s, distributor_id="actebis", reseller_id="R-1", vendor_id="microsoft",
                                     programme_id=None, limit=eur("500.00"), valid_until=date(2026, 6, 30), actor="t")
        service.draw(s, distributor_id="actebis", reseller_id="R-1", reference="SO-1", amount=eur("1200.00"), actor="erp")
        service.release(s, distributor_id="actebis", reseller_id="R-1", drawing_reference="SO-1", reference="P-1",
                        amount=eur("100.00"), kind="payment", actor="erp")


def _differences(uow):
    with uow.snapshot() as s:
        return {(d.subject.split()[0], d.field) for d in verify(s)}


def test_an_honest_ledger_agrees(uow):
    _story(uow)
    assert _differences(uow) == set()


def test_tampering_with_any_balance_is_found(uow):
    _story(uow)
    tampering = {
        "update line set drawn_minor = drawn_minor + 1 where kind = 'base'":
            {("line", "drawn"), ("line", "drawn vs open allocations")},
        "update line set limit_minor = 999999 where kind = 'base'": {("line", "limit")},
        "update line set status = 'revoked' where kind = 'programme'": {("line", "status")},
        "update line set valid_until = '2027-01-01' where kind = 'programme'": {("line", "valid_until")},
        "update reseller set status = 'on_hold'": {("reseller", "status")},
        "update drawing set outstanding_minor = outstanding_minor - 1":
            {("drawing", "outstanding vs allocations"), ("drawing", "outstanding vs releases")},
        "update allocation set amount_minor = amount_minor + 5 where position = 0":
            {("drawing", "amount vs allocations")},
    }
    for statement, expected in tampering.items():
        with uow.write() as s:
            s.execute(text("savepoint tamper"))
            s.execute(text(statement))
            found = {(d.subject.split()[0], d.field) for d in verify(s)}
            s.execute(text("rollback to savepoint tamper"))
        assert found == expected, statement
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

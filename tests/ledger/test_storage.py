"""Exact storage on both databases, an append-only ledger, a schema ready for distribution."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from creditlines import ledger
from creditlines.models import Base
from tests.factories import make_reseller, make_world

# Configuration scoped to a distributor *or* a vendor, like API keys: webhook endpoints and their
# deliveries log (the events they carry are keyed by distributor).
# Not tenant data: tenants themselves, API keys and the console sessions they sign out of, webhooks.
GLOBAL_TABLES = {"distributor", "vendor", "api_key", "console_sign_out", "webhook", "webhook_attempt"}


def test_the_largest_amounts_are_stored_to_the_cent(uow):
    from moneyed import Money

    make_world(uow)
    make_reseller(uow, "R-BIG", "999999999999.99")
    with uow.write() as s:
        drawing, _ = ledger.draw(
            s,
            distributor_id="actebis",
            reseller_id="R-BIG",
            reference="SO-1",
            amount=Money("999999999999.98", "EUR"),
            actor="erp",
        )
    with uow.read() as s:
        view = ledger.availability(s, distributor_id="actebis", reseller_id="R-BIG")
        raw = s.execute(text("select limit_minor, drawn_minor from line where reseller_id = 'R-BIG'")).one()
    assert drawing.amount == Money("999999999999.98", "EUR")
    assert view.total_available == Money("0.01", "EUR")
    assert tuple(raw) == (99_999_999_999_999, 99_999_999_999_998)


def test_yen_distributors_count_whole_yen(uow):
    from moneyed import Money

    make_world(uow, id="tokyo", currency="JPY", timezone="Asia/Tokyo")
    make_reseller(uow, "R-JP", "5000000", distributor_id="tokyo", currency="JPY")
    with uow.write() as s:
        ledger.draw(
            s, distributor_id="tokyo", reseller_id="R-JP", reference="SO-1", amount=Money("1234567", "JPY"), actor="erp"
        )
    with uow.read() as s:
        view = ledger.availability(s, distributor_id="tokyo", reseller_id="R-JP")
    assert view.total_available == Money("3765433", "JPY")


def test_the_ledger_refuses_updates_and_deletes(uow, owner_engine):
    """Refused by trigger even to the tables' owner (the app role may not even ask: test_least_privilege)."""
    from creditlines.db.engine import UnitOfWork

    make_world(uow)
    make_reseller(uow, "R-1", "100.00")
    owner = UnitOfWork(owner_engine)
    for statement in ("update ledger_entry set actor = 'mallory'", "delete from ledger_entry"):
        with pytest.raises(DBAPIError, match="append-only"):
            with owner.write() as s:
                s.execute(text(statement))
    if owner.read_engine is not None:
        owner.read_engine.dispose()
    with uow.read() as s:
        assert s.execute(text("select count(*) from ledger_entry where actor = 'mallory'")).scalar() == 0


def test_the_database_refuses_a_programme_line_drawn_above_its_limit(uow):
    from datetime import date

    from moneyed import Money
    from sqlalchemy.exc import IntegrityError

    make_world(uow)
    make_reseller(uow, "R-1", "0.00")
    with uow.write() as s:
        line = ledger.grant_programme_line(
            s,
            distributor_id="actebis",
            reseller_id="R-1",
            vendor_id="microsoft",
            programme_id=None,
            limit=Money("10.00", "EUR"),
            valid_until=date(2026, 12, 31),
            actor="t",
        )
    with pytest.raises(IntegrityError):
        with uow.write() as s:
            s.execute(text("update line set drawn_minor = 1001 where id = :id"), {"id": line.id})


def test_every_tenant_table_is_keyed_by_distributor():
    """SPEC §10: every row carries its distributor, first in every primary and unique key."""
    for table in Base.metadata.sorted_tables:
        if table.name in GLOBAL_TABLES:
            continue
        assert "distributor_id" in table.c, table.name
        assert table.primary_key.columns.keys()[0] == "distributor_id", table.name
        for index in table.indexes:
            if index.unique:
                assert list(index.columns.keys())[0] == "distributor_id", (table.name, index.name)
        for fk in table.foreign_key_constraints:
            if fk.referred_table.name not in GLOBAL_TABLES:
                assert "distributor_id" in fk.column_keys, (table.name, fk.name)

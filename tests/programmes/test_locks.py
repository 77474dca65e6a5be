"""A grant decides on the programme as it is once locked, not as it was read before.

SQLAlchemy hands back the object its session already holds: without a refresh, a programme read
before ``FOR UPDATE`` keeps its old ``ends_on``, status and budget across the lock. Each test
reads the programme in the enrolling transaction, lets a PATCH commit in between, then enrols.
PostgreSQL only: on SQLite the first write transaction holds the database lock throughout.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest

from creditlines.db.engine import UnitOfWork
from creditlines.errors import ProgrammeClosed
from creditlines.programmes import enrolment, service
from tests.factories import eur, make_reseller, make_world


@pytest.fixture
def uow_pg(pg_only_engine) -> UnitOfWork:
    uow = UnitOfWork(pg_only_engine)
    make_world(uow)
    for r in ("R-1", "R-2", "R-3"):
        make_reseller(uow, r, 10_000)
    with uow.write() as s:
        service.create_programme(
            s,
            vendor_id="microsoft",
            distributor_id="actebis",
            code="mezzanine",
            name="Mezzanine",
            kind="standing",
            line_limit=eur("5000.00"),
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 6, 30),
            max_beneficiaries=3,
        )
    return uow


def _patch_meanwhile(uow: UnitOfWork, **changes) -> None:
    """A PATCH committed by another transaction (another thread, another connection)."""

    def run():
        with uow.write() as s:
            service.update_programme(
                s, vendor_id="microsoft", programme_id="mezzanine@actebis", actor="other", **changes
            )

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()


def _enrol_after_a_stale_read(uow: UnitOfWork, change: dict, resellers=("R-1",)):
    with uow.write() as s:
        stale = service.get_programme(s, vendor_id="microsoft", programme_id="mezzanine@actebis")
        assert stale.ends_on == date(2026, 6, 30)
        _patch_meanwhile(uow, **change)
        return enrolment.enrol(
            s,
            vendor_id="microsoft",
            programme_id="mezzanine@actebis",
            resellers=[(r, None) for r in resellers],
            actor="partner",
        )


def test_enrolment_after_a_patch_of_ends_on_grants_the_new_end(uow_pg):
    [result] = _enrol_after_a_stale_read(uow_pg, {"ends_on": date(2026, 9, 30)})
    assert result.outcome == "granted"
    assert result.line.valid_until == date(2026, 9, 30)


def test_enrolment_after_a_close_grants_nothing(uow_pg):
    with pytest.raises(ProgrammeClosed):
        _enrol_after_a_stale_read(uow_pg, {"status": "closed"})


def test_enrolment_after_a_lowered_budget_respects_it(uow_pg):
    results = _enrol_after_a_stale_read(uow_pg, {"max_beneficiaries": 1}, resellers=("R-1", "R-2"))
    assert [r.outcome for r in results] == ["granted", "budget_exhausted"]

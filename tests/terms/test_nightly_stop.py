"""The nightly job and the overdue stop (SPEC §18): it announces a stop that began while nobody
drew, once; it clears an announced stop the policy no longer imposes; the stop itself never
waited for it."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import text

from creditlines import clock, ledger
from creditlines.jobs.overdue import run_overdue_stops
from creditlines.ledger import terms
from tests.factories import eur, make_world


def _events(uow, type_: str) -> list[dict]:
    with uow.read() as s:
        rows = s.execute(text("SELECT data FROM event WHERE type = :t ORDER BY id"), {"t": type_}).scalars().all()
    return [json.loads(row) for row in rows]


def test_the_job_announces_a_stop_once_and_clears_it_when_the_policy_is_loosened(uow):
    make_world(uow)
    clock.set_now("2026-01-02T09:00:00+00:00")
    with uow.write() as s:
        terms.update_policy(s, distributor_id="actebis", overdue_stop=terms.OverdueStop(60, 50000))
        for r in ("LATE", "ON-TIME"):
            ledger.upsert_reseller(s, distributor_id="actebis", reseller_id=r, name=r, actor="t")
            ledger.set_base_limit(s, distributor_id="actebis", reseller_id=r, limit=eur(5000), reason="t", actor="t")
        # LATE: 800.00 due 1 February; ON-TIME: 800.00 due 1 May
        ledger.draw(s, distributor_id="actebis", reseller_id="LATE", reference="I-1", amount=eur(800), actor="erp")
        ledger.draw(s, distributor_id="actebis", reseller_id="ON-TIME", reference="I-1", amount=eur(800),
                    due_on=date(2026, 5, 1), actor="erp")  # fmt: skip
    clock.set_now("2026-04-02T09:00:00+00:00")  # day 60: nothing yet
    assert run_overdue_stops(uow, distributor_id="actebis", day=date(2026, 4, 2)) == (0, 0)
    clock.set_now("2026-04-03T09:00:00+00:00")  # day 61
    assert run_overdue_stops(uow, distributor_id="actebis", day=date(2026, 4, 3)) == (1, 0)
    assert run_overdue_stops(uow, distributor_id="actebis", day=date(2026, 4, 3)) == (0, 0)  # once
    assert _events(uow, "reseller.overdue_stop") == [
        {"overdue_minor": 80000, "after_days": 60, "min_amount_minor": 50000, "cause": "nightly"}
    ]
    with uow.write() as s:  # loosened: 1,000.00 from now on
        old = terms.policy_of(s, "actebis").overdue_stop
        new = terms.OverdueStop(60, 100000)
        assert terms.is_loosening_overdue_stop(old, new)
        terms.update_policy(s, distributor_id="actebis", overdue_stop=new)
    assert run_overdue_stops(uow, distributor_id="actebis", day=date(2026, 4, 3)) == (0, 1)
    assert [e["cause"] for e in _events(uow, "reseller.overdue_cleared")] == ["nightly"]


def test_which_changes_loosen_the_stop():
    stop = terms.OverdueStop(60, 50000)
    assert terms.is_loosening_overdue_stop(stop, None)  # removed
    assert terms.is_loosening_overdue_stop(stop, terms.OverdueStop(61, 50000))  # later
    assert terms.is_loosening_overdue_stop(stop, terms.OverdueStop(60, 50001))  # higher
    assert not terms.is_loosening_overdue_stop(None, stop)  # a new stop tightens
    assert not terms.is_loosening_overdue_stop(stop, stop)
    assert not terms.is_loosening_overdue_stop(stop, terms.OverdueStop(30, 10000))


def test_an_officers_loosening_waits_for_a_second_officer_before_the_job_clears_anything(uow):
    """LATE owes 800.00 due 1 February; the stop {60 days, 500.00} is announced on 3 April (day
    61). Officer A raises min_amount to 1,000.00: a pending request (changes and previous as
    stored: minor units), the stop unchanged, so the job clears nothing. B approves it: the stop
    is {60 days, 1,000.00} and the job clears LATE's announced stop."""
    from creditlines.decisions import policy_requests

    make_world(uow)
    clock.set_now("2026-01-02T09:00:00+00:00")
    with uow.write() as s:
        terms.update_policy(s, distributor_id="actebis", overdue_stop=terms.OverdueStop(60, 50000))
        ledger.upsert_reseller(s, distributor_id="actebis", reseller_id="LATE", name="LATE", actor="t")
        ledger.set_base_limit(s, distributor_id="actebis", reseller_id="LATE", limit=eur(5000), reason="t", actor="t")
        ledger.draw(s, distributor_id="actebis", reseller_id="LATE", reference="I-1", amount=eur(800), actor="erp")
    clock.set_now("2026-04-03T09:00:00+00:00")
    assert run_overdue_stops(uow, distributor_id="actebis", day=date(2026, 4, 3)) == (1, 0)
    with uow.write() as s:
        _, request = policy_requests.change_policy(
            s,
            distributor_id="actebis",
            actor="officer:A",
            key_id="key-A",
            admin=False,
            changes={},
            overdue_stop=terms.OverdueStop(60, 100000),
        )
        assert request is not None
        assert policy_requests.changes_of(request) == {"overdue_stop": {"after_days": 60, "min_amount_minor": 100000}}
        assert policy_requests.previous_of(request) == {"overdue_stop": {"after_days": 60, "min_amount_minor": 50000}}
        assert terms.policy_of(s, "actebis").overdue_stop == terms.OverdueStop(60, 50000)
        request_id = request.id
    assert run_overdue_stops(uow, distributor_id="actebis", day=date(2026, 4, 3)) == (0, 0)
    with uow.write() as s:
        policy_requests.decide(
            s,
            distributor_id="actebis",
            request_id=request_id,
            decision="approve",
            reason="insurer agreed",
            actor="officer:B",
            key_id="key-B",
        )
        assert terms.policy_of(s, "actebis").overdue_stop == terms.OverdueStop(60, 100000)
    assert run_overdue_stops(uow, distributor_id="actebis", day=date(2026, 4, 3)) == (0, 1)

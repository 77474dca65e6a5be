"""The decision services on their own (both databases): the nightly expiry of limit requests
by local night, the bulk import of covers, and the policy's own rules."""

from __future__ import annotations

from datetime import date

import pytest

from creditlines import clock, ledger
from creditlines.decisions import insurance, limit_requests, policy
from creditlines.errors import CurrencyMismatch, InvalidAmount, ValidationFailed
from creditlines.jobs.expiry import run_expiry
from tests.factories import eur, make_reseller, make_world


@pytest.fixture
def actebis(uow):
    make_world(uow)
    make_reseller(uow, "R-1", "10000.00")
    make_reseller(uow, "R-2", "10000.00")
    return uow


def _ask(uow, reseller_id: str, amount: str) -> str:
    with uow.write() as s:
        policy.update(s, distributor_id="actebis", actor="t", approval_threshold=eur("0.00"))
        request = limit_requests.set_or_request(
            s,
            distributor_id="actebis",
            reseller_id=reseller_id,
            limit=eur(amount),
            reason="raise",
            actor="credit_officer:k1",
            key_id="k1",
        )
        assert request is not None
        return request.id


def test_a_request_expires_by_the_night_after_its_fourteen_days_never_earlier(actebis):
    """Asked on Monday 2 March at 10:00 Paris: it may be decided until 16 March 10:00; the night
    of 16 March does not expire it yet, the night of 17 March does, once."""
    request_id = _ask(actebis, "R-1", "20000.00")
    clock.set_now("2026-03-18T09:00:00+00:00")
    run_expiry(actebis, as_of=date(2026, 3, 16))
    with actebis.read() as s:
        assert limit_requests.get(s, distributor_id="actebis", request_id=request_id).status == "pending"
    for _replay in range(2):
        run_expiry(actebis, as_of=date(2026, 3, 17))
    with actebis.read() as s:
        request = limit_requests.get(s, distributor_id="actebis", request_id=request_id)
        entries = ledger.ledger_entries(s, distributor_id="actebis", reseller_id="R-1", after_seq=None, limit=100)
    assert (request.status, request.decided_by) == ("expired", "job:expiry")
    assert [e.kind for e in entries].count("limit_request_expired") == 1


def test_a_dry_run_expires_nothing(actebis):
    request_id = _ask(actebis, "R-1", "20000.00")
    clock.set_now("2026-04-01T09:00:00+00:00")
    run_expiry(actebis, dry_run=True)
    with actebis.read() as s:
        assert limit_requests.get(s, distributor_id="actebis", request_id=request_id).status == "pending"


def test_covers_imported_in_bulk_are_what_set_cover_records(actebis):
    """Onboarding: R-1 covered 9,000 (its 10,000 line stands under cover + 2,000), R-2 covered
    5,000 (its line is cut to 7,000); a second import leaves both alone."""
    with actebis.write() as s:
        policy.update(
            s,
            distributor_id="actebis",
            actor="t",
            base_cap_policy="cover_plus_discretionary",
            discretionary=eur("2000.00"),
        )
        rows = [("R-1", "Coface", eur("9000.00")), ("R-2", "Atradius", eur("5000.00")), ("R-9", "Coface", eur("1.00"))]
        assert (
            insurance.import_covers(
                s, distributor_id="actebis", rows=rows, decided_on=date(2026, 3, 1), actor="onboarding"
            )
            == 2
        )
        assert (
            insurance.import_covers(
                s, distributor_id="actebis", rows=rows[:2], decided_on=date(2026, 3, 1), actor="onboarding"
            )
            == 0
        )
    with actebis.read() as s:
        limits = {
            r: ledger.reseller_summary(s, distributor_id="actebis", reseller_id=r).totals.limit for r in ("R-1", "R-2")
        }
        history = insurance.history(s, distributor_id="actebis", reseller_id="R-2")
        entries = ledger.ledger_entries(s, distributor_id="actebis", reseller_id="R-2", after_seq=None, limit=100)
    assert limits == {"R-1": 1_000_000, "R-2": 700_000}
    assert [(h.insurer, h.cover_minor, h.previous_cover_minor) for h in history] == [("Atradius", 500_000, None)]
    assert [(e.kind, e.reason) for e in entries[-2:]] == [
        ("insurance_set", "Atradius: cover decided"),
        ("limit_set", "insurer_cut"),
    ]


def test_policy_rules(actebis):
    with actebis.write() as s:
        assert policy.get(s, "actebis").base_cap_policy == "none"
        with pytest.raises(ValidationFailed):
            policy.update(s, distributor_id="actebis", actor="t", base_cap_policy="cover_only")
        with pytest.raises(CurrencyMismatch):
            policy.update(s, distributor_id="actebis", actor="t", approval_threshold=eur("1.00").__class__("1", "USD"))
        with pytest.raises(InvalidAmount):
            policy.update(s, distributor_id="actebis", actor="t", discretionary=eur("-1.00"))
        set_ = policy.update(s, distributor_id="actebis", actor="t", approval_threshold=eur("5000.00"))
        assert set_.approval_threshold_minor == 500_000
        cleared = policy.update(s, distributor_id="actebis", actor="t", approval_threshold=None)
        assert cleared.approval_threshold_minor is None and cleared.updated_by == "t"

"""The decision rules of ``tests/invariants.py`` hold after honest work and report what breaks
them (PostgreSQL: the rules are SQL)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from creditlines import clock
from creditlines.db.engine import UnitOfWork
from creditlines.decisions import insurance, limit_requests, policy
from tests.factories import eur, make_reseller, make_world
from tests.invariants import violations

DECISION_RULES = {
    "a limit request decided once in the ledger",
    "an approved nomination holds its line, granted in its programme",
    "every cover decision is in the ledger",
}


def _rules(found: list[str]) -> set[str]:
    return {line.split(": ", 1)[0] for line in found}


def test_decision_rules_report_what_breaks_them(pg_only_engine):
    url = pg_only_engine.url.render_as_string(hide_password=False)
    uow = UnitOfWork(pg_only_engine)
    make_world(uow)
    make_reseller(uow, "R1", "1000.00")
    with uow.write() as s:
        policy.update(s, distributor_id="actebis", actor="t", approval_threshold=eur("0.00"))
        asked = limit_requests.set_or_request(
            s,
            distributor_id="actebis",
            reseller_id="R1",
            limit=eur("2000.00"),
            reason="raise",
            actor="credit_officer:k1",
            key_id="k1",
        )
        assert asked is not None
        insurance.set_cover(
            s,
            distributor_id="actebis",
            reseller_id="R1",
            insurer="Coface",
            cover=eur("900.00"),
            decided_on=date(2026, 3, 1),
            reference=None,
            actor="t",
        )
    with uow.write() as s:
        limit_requests.decide(
            s,
            distributor_id="actebis",
            request_id=asked.id,
            decision="reject",
            limit=None,
            reason="no",
            actor="credit_officer:k2",
            key_id="k2",
        )
    now = clock.now()
    assert _rules(violations(url, now=now)) & DECISION_RULES == set()

    with pg_only_engine.begin() as conn:  # what a bug could write: a decision with no entry, a cover with none
        conn.execute(
            text(
                "INSERT INTO limit_request (distributor_id, id, reseller_id, current_minor, requested_minor, reason,"
                " requested_by, requested_key, status, created_at, expires_at, decided_at, decided_by)"
                " VALUES ('actebis', 'lr-x', 'R1', 0, 1, 'x', 'a', 'k', 'approved', now(), now(), now(), 'b')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO insurance_cover (distributor_id, reseller_id, seq, insurer, cover_minor, decided_on,"
                " recorded_at, actor) VALUES ('actebis', 'R1', 999, 'Coface', 1, '2026-03-01', now(), 't')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO programme (distributor_id, vendor_id, id, code, name, kind, line_limit_minor, starts_on,"
                " ends_on, usable_for, on_expiry, status, created_at, updated_at)"
                " VALUES ('actebis', 'microsoft', 'p@actebis', 'p', 'P', 'standing', 100, '2026-01-01', '2026-06-30',"
                " 'any', 'run_off', 'active', now(), now())"
            )
        )
        conn.execute(
            text(
                "INSERT INTO nomination (distributor_id, id, vendor_id, programme_id, reseller_id, limit_minor, status,"
                " nominated_by, created_at, decided_at, decided_by, line_id)"
                " VALUES ('actebis', 'nom-x', 'microsoft', 'p@actebis', 'R1', 100, 'approved', 'p', now(), now(), 'o',"
                " 'no-such-line')"
            )
        )
    assert _rules(violations(url, now=now)) & DECISION_RULES == DECISION_RULES

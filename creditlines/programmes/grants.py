"""The one place a programme line is granted: the budget check and the grant itself.

Enrolment (``programmes.enrolment``), purchase events (``programmes.purchases``) and an approved
nomination (``programmes.nominations``) all grant through here, with the programme and the
reseller already locked by the caller (lock order in ``programmes.service``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from creditlines import clock, ledger
from creditlines.events import alerts, outbox
from creditlines.ledger.models import Line, Reseller
from creditlines.money import from_minor
from creditlines.programmes import repository as repo
from creditlines.programmes.models import Programme
from creditlines.tenants import lookup


@dataclass(frozen=True)
class GrantResult:
    subject: str  # reseller id (enrolment) or programme id (purchase event)
    outcome: str
    reason: str | None
    line: Line | None
    nomination_id: str | None = None  # outcome pending_approval (programmes.nominations)


def budget_allows(session: Session, programme: Programme, day: date, extra_limit: int) -> bool:
    """Whether one more beneficiary with a line of ``extra_limit`` fits the (locked) programme's budget."""
    if programme.max_beneficiaries is None and programme.max_total_limit_minor is None:
        return True
    beneficiaries, total_limit, _ = repo.utilisation(session, programme, day)
    if programme.max_beneficiaries is not None and beneficiaries + 1 > programme.max_beneficiaries:
        return False
    if programme.max_total_limit_minor is not None and total_limit + extra_limit > programme.max_total_limit_minor:
        return False
    return True


def grant(
    session: Session,
    programme: Programme,
    reseller: Reseller,
    *,
    limit_minor: int,
    valid_from: date,
    valid_until: date,
    actor: str,
    reason: str,
) -> Line:
    """Grant the programme's line to the reseller, then record the budget alerts it crosses."""
    distributor = lookup.require_distributor(session, programme.distributor_id)
    line = ledger.grant_programme_line(
        session,
        distributor_id=programme.distributor_id,
        reseller_id=reseller.id,
        vendor_id=programme.vendor_id,
        programme_id=programme.id,
        limit=from_minor(limit_minor, distributor.currency),
        valid_until=valid_until,
        valid_from=valid_from,
        usable_for=programme.usable_for,
        on_expiry=programme.on_expiry,
        actor=actor,
        reason=reason,
        reseller=reseller,
    )
    _budget_alerts(session, programme, limit_minor=limit_minor, day=clock.local_today(distributor.timezone))
    return line


def _budget_alerts(session: Session, programme: Programme, *, limit_minor: int, day: date) -> None:
    """After a grant of ``limit_minor`` (flushed): budget crossings, from the counts the budget
    check reads under the programme's lock. A programme without a budget reads nothing."""
    if not getattr(programme, "max_beneficiaries", None) and not getattr(programme, "max_total_limit_minor", None):
        return
    beneficiaries, total_limit, _ = repo.utilisation(session, programme, day)
    outbox.record_many(
        session,
        alerts.programme_rows(
            programme=programme,
            before=(beneficiaries - 1, total_limit - limit_minor),
            after=(beneficiaries, total_limit),
            at=clock.now(),
        ),
    )

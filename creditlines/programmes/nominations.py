"""Nominations (SPEC §12): where a partnership ``requires_approval``, a vendor's enrolment of a
reseller waits for the distributor's credit officer.

Enrolment answers ``pending_approval`` with the nomination's id (the same id while it is
pending). Approval re-checks every grant rule at that moment, under the one lock order —
partnership (share), programme, reseller — then grants the line, for less if the officer says
so. A refusal tells the vendor a code (``refusal_code``), never the officer's reason text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from moneyed import Money
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.decisions import journal
from creditlines.decisions.limit_requests import (
    DECISIONS,
    _limit_minor,
    _locked_reseller,
    new_id,
)
from creditlines.decisions.models import REFUSAL_CODES, Nomination
from creditlines.errors import (
    AlreadyDecided,
    AlreadyGranted,
    BudgetExhausted,
    InvalidAmount,
    NotFound,
    ProgrammeClosed,
    ResellerTerminated,
    ValidationFailed,
)
from creditlines.ledger.models import Reseller
from creditlines.money import amount_str
from creditlines.partnerships import service as partnerships
from creditlines.programmes import grants
from creditlines.programmes import repository as programme_repo
from creditlines.programmes.grants import GrantResult
from creditlines.programmes.models import Programme
from creditlines.tenants import lookup

if TYPE_CHECKING:
    from creditlines.partnerships.models import Partnership


def nominate(
    session: Session, programme: Programme, reseller: Reseller, *, limit_minor: int, actor: str
) -> GrantResult:
    """The enrolment's answer where the distributor decides: a pending nomination (the one
    already pending for this reseller and programme, if any). Programme and reseller are locked
    by the caller (``programmes.enrolment.enrol``), which has checked every rule it can check now."""
    existing = session.scalars(
        select(Nomination)
        .where(
            Nomination.distributor_id == programme.distributor_id,
            Nomination.vendor_id == programme.vendor_id,  # a programme code is its vendor's (SPEC §23)
            Nomination.programme_id == programme.id,
            Nomination.reseller_id == reseller.id,
            Nomination.status == "pending",
        )
        .execution_options(populate_existing=True)
    ).one_or_none()
    if existing is None:
        now = clock.now()
        existing = Nomination(
            distributor_id=programme.distributor_id,
            id=new_id("nom", now),
            vendor_id=programme.vendor_id,
            programme_id=programme.id,
            reseller_id=reseller.id,
            limit_minor=limit_minor,
            status="pending",
            nominated_by=actor,
            created_at=now,
        )
        session.add(existing)
        journal.record(
            session,
            reseller,
            kind="nomination_created",
            actor=actor,
            at=now,
            amount_minor=limit_minor,
            reason=f"nominated for {programme.id}",
            details={"nomination_id": existing.id, "programme_id": programme.id},
            vendor_id=programme.vendor_id,
        )
        session.flush()
    return GrantResult(
        reseller.id, "pending_approval", "the distributor decides this enrolment", None, nomination_id=existing.id
    )


def get(session: Session, *, distributor_id: str, nomination_id: str, fresh: bool = False) -> Nomination:
    lookup.require_distributor(session, distributor_id)
    stmt = select(Nomination).where(Nomination.distributor_id == distributor_id, Nomination.id == nomination_id)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    nomination = session.scalars(stmt).one_or_none()
    if nomination is None:
        raise NotFound(f"nomination {nomination_id!r} does not exist at {distributor_id!r}")
    return nomination


def list_for_distributor(
    session: Session, *, distributor_id: str, status: str | None, after: str | None, limit: int
) -> list[Nomination]:
    lookup.require_distributor(session, distributor_id)
    stmt = select(Nomination).where(Nomination.distributor_id == distributor_id)
    if status is not None:
        stmt = stmt.where(Nomination.status == status)
    if after is not None:
        stmt = stmt.where(Nomination.id > after)
    return list(session.scalars(stmt.order_by(Nomination.id).limit(limit)))


def list_for_programme(
    session: Session, programme: Programme, *, status: str | None, after: str | None, limit: int
) -> list[Nomination]:
    stmt = select(Nomination).where(
        Nomination.distributor_id == programme.distributor_id,
        Nomination.vendor_id == programme.vendor_id,
        Nomination.programme_id == programme.id,
    )
    if status is not None:
        stmt = stmt.where(Nomination.status == status)
    if after is not None:
        stmt = stmt.where(Nomination.id > after)
    return list(session.scalars(stmt.order_by(Nomination.id).limit(limit)))


@dataclass(frozen=True)
class _Locked:
    partnership: Partnership | None
    programme: Programme | None
    reseller: Reseller
    nomination: Nomination


def _lock(session: Session, distributor_id: str, nomination_id: str, *, for_grant: bool) -> _Locked:
    """Partnership (share), programme, reseller — the one lock order — then the nomination, fresh."""
    first = get(session, distributor_id=distributor_id, nomination_id=nomination_id)
    partnership = programme = None
    if for_grant:
        partnership = partnerships.require_admitted(session, distributor_id=distributor_id, vendor_id=first.vendor_id)
        programme = programme_repo.get_programme(
            session, distributor_id, first.vendor_id, first.programme_id, lock=True
        )
        assert programme is not None  # a nomination's foreign key
    reseller = _locked_reseller(session, distributor_id, first.reseller_id)
    nomination = get(session, distributor_id=distributor_id, nomination_id=nomination_id, fresh=True)
    return _Locked(partnership, programme, reseller, nomination)


def decide(
    session: Session,
    *,
    distributor_id: str,
    nomination_id: str,
    decision: str,
    limit: Money | None,
    reason: str,
    actor: str,
    refusal_code: str | None = None,
) -> Nomination:
    """Approve (grant the line now, for ``limit`` when given) or reject (``refusal_code``, default
    ``declined``, is all the vendor sees). Approval refuses what a grant would refuse at this
    moment: ``partnership_ended``, ``programme_closed`` (closed or past its ``ends_on``),
    ``reseller_terminated``, ``already_granted``, ``budget_exhausted``,
    ``limit_above_partnership``; the nomination stays pending and may still be rejected."""
    if decision not in DECISIONS:
        raise ValidationFailed("decision must be approve or reject")
    if refusal_code is not None and (decision != "reject" or refusal_code not in REFUSAL_CODES):
        raise ValidationFailed(f"refusal_code goes with a rejection, one of {', '.join(REFUSAL_CODES)}")
    distributor = lookup.require_distributor(session, distributor_id)
    reason = validation.text(reason, "reason")
    held = _lock(session, distributor_id, nomination_id, for_grant=decision == "approve")
    nomination, reseller = held.nomination, held.reseller
    if nomination.status != "pending":
        raise AlreadyDecided(f"nomination {nomination_id!r} was already {nomination.status} by {nomination.decided_by}")
    now = clock.now()
    if decision == "reject":
        nomination.status, nomination.refusal_code = "rejected", refusal_code or "declined"
        journal.record(
            session,
            reseller,
            kind="nomination_rejected",
            actor=actor,
            at=now,
            reason=reason,
            details={
                "nomination_id": nomination.id,
                "programme_id": nomination.programme_id,
                "refusal_code": nomination.refusal_code,
            },
            vendor_id=nomination.vendor_id,
        )
    else:
        assert held.programme is not None and held.partnership is not None
        nomination.line_id = _grant(session, held, distributor.currency, distributor.timezone, limit, actor)
        nomination.status = "approved"
        journal.record(
            session,
            reseller,
            kind="nomination_approved",
            actor=actor,
            at=now,
            reason=reason,
            amount_minor=nomination.decided_limit_minor,
            details={
                "nomination_id": nomination.id,
                "programme_id": nomination.programme_id,
                "line_id": nomination.line_id,
            },
            vendor_id=nomination.vendor_id,
        )
    nomination.decided_at, nomination.decided_by, nomination.decision_reason = now, actor, reason
    session.flush()
    return nomination


def _grant(session: Session, held: _Locked, currency: str, tz: str, limit: Money | None, actor: str) -> str:
    programme, reseller, nomination = held.programme, held.reseller, held.nomination
    assert programme is not None and held.partnership is not None
    granted = nomination.limit_minor if limit is None else _limit_minor(limit, currency)
    if granted <= 0 or granted > nomination.limit_minor:
        raise InvalidAmount(
            f"limit: approve between 0.01 and the {amount_str(nomination.limit_minor, currency)} nominated"
        )
    day: date = clock.local_today(tz)
    if programme.status == "closed" or day > programme.ends_on:
        raise ProgrammeClosed(f"programme {programme.id!r} is closed or ended: it grants nothing more")
    if reseller.status == "terminated":
        raise ResellerTerminated(f"reseller {reseller.id!r} is terminated")
    if granted > programme.line_limit_minor:
        raise InvalidAmount(
            f"limit above the programme's line_limit {amount_str(programme.line_limit_minor, currency)}"
        )
    partnerships.check_line_limit(held.partnership, granted, currency, "limit")
    if programme_repo.active_line_of(session, programme, reseller.id, day) is not None:
        raise AlreadyGranted(f"reseller {reseller.id!r} already holds a line of {programme.id!r}")
    if not grants.budget_allows(session, programme, day, granted):
        raise BudgetExhausted(f"programme {programme.id!r} has no budget left for this line")
    line = grants.grant(
        session,
        programme,
        reseller,
        limit_minor=granted,
        valid_from=max(day, programme.starts_on),
        valid_until=programme.ends_on,
        actor=actor,
        reason=f"nomination {nomination.id} approved for {programme.id}",
    )
    nomination.decided_limit_minor = granted
    return line.id

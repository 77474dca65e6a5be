"""Four eyes on base limits (SPEC §12).

A ``PUT …/base-limit`` that raises a limit by more than the distributor's ``approval_threshold``
becomes a pending :class:`LimitRequest` and changes nothing; another credit officer key decides
it (approve, approve for less, reject) within 14 days, or it expires. Decreases and raises
within the threshold apply at once. Under ``cover_plus_discretionary`` no raise goes above
cover + discretionary (``above_insured_cap``), checked when asked and again when approved.

SPEC §23: a raise is measured from the lowest base limit of the previous 30 days (steps under
the threshold add up; a cut cannot be undone alone); a request decided when its ``current`` is
no longer the live limit is refused (``limit_changed``), and any change of the live limit
supersedes the reseller's pending raises (status ``superseded``).

Locks: only the reseller (``FOR NO KEY UPDATE``), as every limit change; the request row is read
after it, fresh. Two decisions on one request are thus serialised: the second finds it decided.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from moneyed import Money
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock, ledger, validation
from creditlines.decisions import journal, policy
from creditlines.decisions.models import LimitRequest
from creditlines.errors import (
    AboveInsuredCap,
    AlreadyDecided,
    CurrencyMismatch,
    InvalidAmount,
    LimitChanged,
    NotFound,
    RequestExpired,
    ResellerTerminated,
    SameApprover,
    ValidationFailed,
)
from creditlines.ledger import repository as ledger_repo
from creditlines.ledger.models import LedgerEntry, Line, Reseller
from creditlines.money import amount_str, from_minor, to_minor
from creditlines.tenants import lookup

VALIDITY = timedelta(days=14)
WINDOW = timedelta(days=30)  # the four-eyes baseline: the lowest base limit over this window
DECISIONS = ("approve", "reject")


def new_id(prefix: str, at: datetime) -> str:
    """Ids that sort by creation (cursor order), unique by their random tail."""
    return f"{prefix}-{at:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:10]}"


def effective_status(request: LimitRequest, now: datetime) -> str:
    """A pending request past ``expires_at`` is expired from that instant, job or no job."""
    if request.status == "pending" and now >= request.expires_at:
        return "expired"
    return request.status


def _limit_minor(limit: Money, currency: str, *, what: str = "limit") -> int:
    if limit.currency.code != currency:
        raise CurrencyMismatch(f"{what} must be in {currency}", expected=currency)
    minor = to_minor(limit)
    if minor < 0:
        raise InvalidAmount(f"{what} cannot be negative")
    return minor


def _locked_reseller(session: Session, distributor_id: str, reseller_id: str) -> Reseller:
    reseller = ledger_repo.get_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller is None:
        raise NotFound(f"reseller {reseller_id!r} does not exist at {distributor_id!r}")
    return reseller


def _base(session: Session, distributor_id: str, reseller_id: str) -> Line:
    return next(line for line in ledger_repo.lines_of(session, distributor_id, reseller_id) if line.kind == "base")


def _check_cap(session: Session, distributor_id: str, reseller_id: str, minor: int, currency: str) -> None:
    cap = policy.insured_cap(session, distributor_id, reseller_id)
    if cap is not None and minor > cap:
        raise AboveInsuredCap(
            f"{amount_str(minor, currency)} {currency} is above the insured cap "
            f"{amount_str(cap, currency)} {currency} (insurer cover + discretionary)"
        )


def live_limits(session: Session, distributor_id: str, reseller_ids: list[str]) -> dict[str, int]:
    """The base limit now of each reseller named (one query)."""
    return {
        line.reseller_id: line.limit_minor
        for line in ledger_repo.lines_of_many(session, distributor_id, sorted(set(reseller_ids)))
        if line.kind == "base"
    }


def lowest_limit(session: Session, distributor_id: str, reseller_id: str, current: int) -> int:
    """The lowest base limit the reseller had over the previous 30 days (``current`` included):
    its limit changes in that window, read through ``ix_ledger_entry_limit_set`` (bounded by
    the changes, never by the drawings). The limit in force when the window opened is the
    ``before`` of its first change in the window."""
    since = clock.now() - WINDOW
    lowest = current
    for after, details in session.execute(
        select(LedgerEntry.limit_after_minor, LedgerEntry.details).where(
            LedgerEntry.distributor_id == distributor_id,
            LedgerEntry.reseller_id == reseller_id,
            LedgerEntry.kind == "limit_set",
            LedgerEntry.at >= since,
        )
    ):
        before = json.loads(details).get("before_minor") if details else None
        for value in (after, before):
            if isinstance(value, int) and value < lowest:
                lowest = value
    return lowest


def supersede_pending(session: Session, reseller: Reseller, *, actor: str, limit_minor: int, keep: str = "") -> int:
    """The live base limit of the (locked) reseller changes to ``limit_minor``: its pending
    raises asked from the old limit can no longer be approved as asked; they become
    ``superseded`` (each a ledger entry and an event). Returns how many."""
    now = clock.now()
    pending = session.scalars(
        select(LimitRequest)
        .where(
            LimitRequest.distributor_id == reseller.distributor_id,
            LimitRequest.reseller_id == reseller.id,
            LimitRequest.status == "pending",
            LimitRequest.id != keep,
        )
        .order_by(LimitRequest.id)
        .execution_options(populate_existing=True)
    ).all()
    superseded = [r for r in pending if r.current_minor != limit_minor]
    for request in superseded:
        request.status, request.decided_at, request.decided_by = "superseded", now, actor
        request.decision_reason = "the base limit changed while the request was pending"
        journal.record(
            session,
            reseller,
            kind="limit_request_superseded",
            actor=actor,
            at=now,
            reason=request.decision_reason,
            amount_minor=request.requested_minor,
            details={"request_id": request.id, "current_minor": request.current_minor, "live_minor": limit_minor},
        )
    return len(superseded)


def set_base_limit(
    session: Session, reseller: Reseller, *, limit_minor: int, currency: str, reason: str, actor: str, keep: str = ""
) -> None:
    """Set the live base limit of the locked reseller and supersede the pending raises it makes stale."""
    if _base(session, reseller.distributor_id, reseller.id).limit_minor != limit_minor:
        supersede_pending(session, reseller, actor=actor, limit_minor=limit_minor, keep=keep)
    ledger.set_base_limit(
        session,
        distributor_id=reseller.distributor_id,
        reseller_id=reseller.id,
        limit=from_minor(limit_minor, currency),
        reason=reason,
        actor=actor,
    )


def set_or_request(
    session: Session, *, distributor_id: str, reseller_id: str, limit: Money, reason: str, actor: str, key_id: str
) -> LimitRequest | None:
    """Apply the new base limit at once (None), or open a pending request for a raise above the
    distributor's threshold (the request; nothing else changes). The raise is measured from the
    lowest base limit of the previous 30 days. The same raise asked again by the same key while
    its request is pending answers that request: a retried PUT opens no second one."""
    distributor = lookup.require_distributor(session, distributor_id)
    minor = _limit_minor(limit, distributor.currency)
    reason = validation.text(reason, "reason")
    reseller = _locked_reseller(session, distributor_id, reseller_id)
    if reseller.status == "terminated":
        raise ResellerTerminated(f"reseller {reseller_id!r} is terminated")
    current = _base(session, distributor_id, reseller_id).limit_minor
    if minor > current:
        _check_cap(session, distributor_id, reseller_id, minor, distributor.currency)
        threshold = policy.approval_threshold(session, distributor_id)
        if threshold is not None and minor - lowest_limit(session, distributor_id, reseller_id, current) > threshold:
            now = clock.now()
            same = session.scalars(
                select(LimitRequest)
                .where(
                    LimitRequest.distributor_id == distributor_id,
                    LimitRequest.reseller_id == reseller_id,
                    LimitRequest.status == "pending",
                    LimitRequest.expires_at > now,
                    LimitRequest.requested_minor == minor,
                    LimitRequest.requested_key == key_id,
                )
                .limit(1)
            ).first()
            if same is not None:
                return same  # the same raise asked again by the same key (a retry): the same request
            request = LimitRequest(
                distributor_id=distributor_id,
                id=new_id("lr", now),
                reseller_id=reseller_id,
                current_minor=current,
                requested_minor=minor,
                reason=reason,
                requested_by=actor,
                requested_key=key_id,
                status="pending",
                created_at=now,
                expires_at=now + VALIDITY,
            )
            session.add(request)
            journal.record(
                session,
                reseller,
                kind="limit_requested",
                actor=actor,
                at=now,
                reason=reason,
                amount_minor=minor,
                details={"request_id": request.id, "current_minor": current},
            )
            session.flush()
            return request
    set_base_limit(session, reseller, limit_minor=minor, currency=distributor.currency, reason=reason, actor=actor)
    return None


def get(session: Session, *, distributor_id: str, request_id: str, fresh: bool = False) -> LimitRequest:
    lookup.require_distributor(session, distributor_id)
    stmt = select(LimitRequest).where(LimitRequest.distributor_id == distributor_id, LimitRequest.id == request_id)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    request = session.scalars(stmt).one_or_none()
    if request is None:
        raise NotFound(f"limit request {request_id!r} does not exist at {distributor_id!r}")
    return request


def list_requests(
    session: Session, *, distributor_id: str, status: str | None, after: str | None, limit: int
) -> list[LimitRequest]:
    """Oldest first; ``status`` as the caller sees it (a pending request past its expiry is expired)."""
    lookup.require_distributor(session, distributor_id)
    now = clock.now()
    stmt = select(LimitRequest).where(LimitRequest.distributor_id == distributor_id)
    if status == "pending":
        stmt = stmt.where(LimitRequest.status == "pending", LimitRequest.expires_at > now)
    elif status == "expired":
        stmt = stmt.where(
            (LimitRequest.status == "expired") | ((LimitRequest.status == "pending") & (LimitRequest.expires_at <= now))
        )
    elif status is not None:
        stmt = stmt.where(LimitRequest.status == status)
    if after is not None:
        stmt = stmt.where(LimitRequest.id > after)
    return list(session.scalars(stmt.order_by(LimitRequest.id).limit(limit)))


def decide(
    session: Session,
    *,
    distributor_id: str,
    request_id: str,
    decision: str,
    limit: Money | None,
    reason: str,
    actor: str,
    key_id: str,
) -> LimitRequest:
    """Approve (for ``limit`` when given, at most the amount requested) or reject a pending request.

    Refusals: the requester's own key → ``same_approver``; a request already decided →
    ``already_decided``; past its 14 days → ``request_expired``; approving above the insured cap
    as it stands now → ``above_insured_cap``; a terminated reseller → ``reseller_terminated``;
    approving while ``current`` is no longer the live base limit, or deciding a request the
    limit's change superseded → ``limit_changed`` (a stale approval never undoes a cut)."""
    if decision not in DECISIONS:
        raise ValidationFailed("decision must be approve or reject")
    distributor = lookup.require_distributor(session, distributor_id)
    reason = validation.text(reason, "reason")
    reseller_id = get(session, distributor_id=distributor_id, request_id=request_id).reseller_id
    reseller = _locked_reseller(session, distributor_id, reseller_id)
    request = get(session, distributor_id=distributor_id, request_id=request_id, fresh=True)  # under the lock
    if request.requested_key == key_id:
        raise SameApprover("four eyes: the key that asked for this raise cannot decide it; another officer must")
    now = clock.now()
    status = effective_status(request, now)
    if status == "expired":
        raise RequestExpired(f"limit request {request_id!r} expired at {request.expires_at.isoformat()}")
    live = _base(session, distributor_id, reseller_id).limit_minor
    if status == "superseded" or (status == "pending" and decision == "approve" and live != request.current_minor):
        raise LimitChanged(
            f"the base limit is {amount_str(live, distributor.currency)} now, not the "
            f"{amount_str(request.current_minor, distributor.currency)} this request was asked from: "
            "reject it, and ask again from the live limit",
            live=amount_str(live, distributor.currency),
        )
    if status != "pending":
        raise AlreadyDecided(f"limit request {request_id!r} was already {status} by {request.decided_by}")
    if decision == "reject":
        request.status = "rejected"
        request.decided_at, request.decided_by, request.decision_reason = now, actor, reason
        journal.record(
            session,
            reseller,
            kind="limit_request_rejected",
            actor=actor,
            at=now,
            reason=reason,
            amount_minor=request.requested_minor,
            details={"request_id": request.id},
        )
    else:
        granted = request.requested_minor if limit is None else _limit_minor(limit, distributor.currency)
        if granted > request.requested_minor:
            raise ValidationFailed(
                f"limit: approve at most the {amount_str(request.requested_minor, distributor.currency)} "
                "requested (approve for less, or ask for a new request)"
            )
        if reseller.status == "terminated":
            raise ResellerTerminated(f"reseller {reseller_id!r} is terminated")
        if granted > live:
            _check_cap(session, distributor_id, reseller_id, granted, distributor.currency)
        request.status, request.decided_limit_minor = "approved", granted
        request.decided_at, request.decided_by, request.decision_reason = now, actor, reason
        journal.record(
            session,
            reseller,
            kind="limit_request_approved",
            actor=actor,
            at=now,
            reason=reason,
            amount_minor=granted,
            details={
                "request_id": request.id,
                "requested_minor": request.requested_minor,
                "requested_by": request.requested_by,
            },
        )
        set_base_limit(
            session,
            reseller,
            limit_minor=granted,
            currency=distributor.currency,
            reason=reason,
            actor=actor,
            keep=request.id,
        )
    session.flush()
    return request


def start_of_day_utc(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))


def expire_due(session: Session, *, distributor_id: str, day: date, actor: str) -> list[LimitRequest]:
    """Mark expired every pending request whose 14 days ended before local ``day`` began (the
    nightly job; a replayed night finds nothing left to do). Each reseller is locked in id order
    and its request re-read under the lock, so a decision racing the job is either before it
    (decided) or after it (``request_expired``)."""
    distributor = lookup.require_distributor(session, distributor_id)
    cutoff = start_of_day_utc(day, distributor.timezone)
    due = session.execute(
        select(LimitRequest.reseller_id, LimitRequest.id)
        .where(
            LimitRequest.distributor_id == distributor_id,
            LimitRequest.status == "pending",
            LimitRequest.expires_at <= cutoff,
        )
        .order_by(LimitRequest.reseller_id, LimitRequest.id)
    ).all()
    expired: list[LimitRequest] = []
    now = clock.now()
    for reseller_id, request_id in due:
        reseller = _locked_reseller(session, distributor_id, reseller_id)
        request = get(session, distributor_id=distributor_id, request_id=request_id, fresh=True)
        if request.status != "pending":
            continue
        request.status, request.decided_at, request.decided_by = "expired", now, actor
        journal.record(
            session,
            reseller,
            kind="limit_request_expired",
            actor=actor,
            at=now,
            reason="not decided within 14 days",
            amount_minor=request.requested_minor,
            details={"request_id": request.id},
        )
        expired.append(request)
    session.flush()
    return expired


def expire_requests(uow: object, distributor_id: str, day: date, *, actor: str, dry_run: bool = False) -> int:
    """The nightly job's step for one distributor, in its own transaction (retried like a batch)."""
    from creditlines.db.engine import UnitOfWork
    from creditlines.db.retry import retry_transient

    assert isinstance(uow, UnitOfWork)

    @retry_transient
    def run() -> int:
        with uow.write() as s:
            count = len(expire_due(s, distributor_id=distributor_id, day=day, actor=actor))
            if dry_run:
                s.rollback()
        return count

    return run()

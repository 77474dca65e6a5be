"""Four eyes on the controls themselves (SPEC §23).

An officer's change that loosens control — a field of the credit policy whose declared
``loosens`` says so (:data:`creditlines.decisions.policy.FIELDS`), or an insurer cover raised by
more than the approval threshold — becomes a pending :class:`PolicyRequest` that another officer
key decides, with the rules of limit requests: the requester's key → ``same_approver``; twice →
``already_decided``; after 14 days → ``request_expired``. The tightening part of a change applies
at once; so does any change made with an admin key (the platform's operator, outside the desk).
An approval applies what was asked only while the fields still hold what they held when it was
asked (``policy_changed`` otherwise): a stale approval never undoes a later decision.

The overdue stop (SPEC §18) lives on the distributor's row, not on the policy row: it is the
request's ``overdue_stop`` key (``{"after_days", "min_amount_minor"}`` or ``null`` for none),
loosening as :func:`creditlines.ledger.terms.is_loosening_overdue_stop` says, applied through
:func:`creditlines.ledger.terms.update_policy`. One change loosening the threshold and the stop is
one request.

Locks: a credit-policy request locks the distributor's policy row, then (for the stop) the
distributor's row — always in that order; a cover request locks the reseller (as every cover
decision). The request row is re-read under that lock.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from moneyed import Money
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.decisions import insurance, policy
from creditlines.decisions.limit_requests import _locked_reseller, new_id
from creditlines.decisions.models import InsuranceCover, PolicyRequest
from creditlines.errors import (
    AlreadyDecided,
    NotFound,
    PolicyChanged,
    RequestExpired,
    SameApprover,
    ValidationFailed,
)
from creditlines.ledger import terms
from creditlines.money import from_minor
from creditlines.tenants import lookup

VALIDITY = timedelta(days=14)
WINDOW = timedelta(days=30)
DECISIONS = ("approve", "reject")
STOP = "overdue_stop"  # the key of the overdue stop in a credit-policy request's changes and previous


def stop_json(stop: terms.OverdueStop | None) -> dict[str, int] | None:
    """The stop as a request stores it (``None``: no stop)."""
    return None if stop is None else {"after_days": stop.after_days, "min_amount_minor": stop.min_minor}


def stop_of(value: Any) -> terms.OverdueStop | None:
    return None if value is None else terms.OverdueStop(int(value["after_days"]), int(value["min_amount_minor"]))


def effective_status(request: PolicyRequest, now: datetime) -> str:
    if request.status == "pending" and now >= request.expires_at:
        return "expired"
    return request.status


def changes_of(request: PolicyRequest) -> dict[str, Any]:
    return dict(json.loads(request.changes))


def previous_of(request: PolicyRequest) -> dict[str, Any]:
    return dict(json.loads(request.previous))


def _open(
    session: Session,
    *,
    distributor_id: str,
    kind: str,
    reseller_id: str | None,
    changes: dict[str, Any],
    previous: dict[str, Any],
    reason: str | None,
    actor: str,
    key_id: str,
) -> PolicyRequest:
    """A new pending request, or the same one asked again by the same key (a retry)."""
    now = clock.now()
    text = json.dumps(changes, sort_keys=True)
    same = session.scalars(
        select(PolicyRequest)
        .where(
            PolicyRequest.distributor_id == distributor_id,
            PolicyRequest.kind == kind,
            PolicyRequest.status == "pending",
            PolicyRequest.expires_at > now,
            PolicyRequest.requested_key == key_id,
            PolicyRequest.changes == text,
        )
        .limit(1)
    ).first()
    if same is not None and same.reseller_id == reseller_id:
        return same
    request = PolicyRequest(
        distributor_id=distributor_id,
        id=new_id("pr", now),
        kind=kind,
        reseller_id=reseller_id,
        changes=text,
        previous=json.dumps(previous, sort_keys=True),
        reason=reason,
        requested_by=actor,
        requested_key=key_id,
        status="pending",
        created_at=now,
        expires_at=now + VALIDITY,
    )
    session.add(request)
    session.flush()
    return request


def change_policy(
    session: Session,
    *,
    distributor_id: str,
    actor: str,
    key_id: str,
    admin: bool,
    changes: dict[str, object],
    overdue_stop: Any = terms.UNSET,
    reason: str | None = None,
) -> tuple[policy.PolicyView, PolicyRequest | None]:
    """Apply the tightening part of ``changes`` (``approval_threshold``, ``base_cap_policy``,
    ``discretionary``, as :func:`policy.update` takes them) and of ``overdue_stop`` (an
    :class:`~creditlines.ledger.terms.OverdueStop`, ``None`` to remove it, left out: unchanged) at
    once; the loosening part (unless ``admin``) becomes one pending request. Returns the policy as
    it stands and the request, if any."""
    columns = policy.normalise(session, distributor_id, **changes)
    new_stop = terms.UNSET if overdue_stop is terms.UNSET else terms.check_stop(overdue_stop)
    if reason is not None:
        reason = validation.text(reason, "reason")
    row = policy.locked_row(session, distributor_id, actor)  # the policy row first, then the distributor's
    loosening = {} if admin else policy.loosening(row, columns)
    at_once = {column: value for column, value in columns.items() if column not in loosening}
    asked: dict[str, Any] = dict(loosening)
    previous: dict[str, Any] = {column: getattr(row, column) for column in loosening}
    if new_stop is not terms.UNSET:
        old_stop = terms.locked_policy_of(session, distributor_id).overdue_stop
        if not admin and terms.is_loosening_overdue_stop(old_stop, new_stop):
            asked[STOP], previous[STOP] = stop_json(new_stop), stop_json(old_stop)
        elif new_stop != old_stop:
            terms.update_policy(session, distributor_id=distributor_id, overdue_stop=new_stop)
    if at_once or not asked:
        policy.apply(session, row, at_once, actor)
    request = None
    if asked:
        request = _open(
            session,
            distributor_id=distributor_id,
            kind="credit_policy",
            reseller_id=None,
            changes=asked,
            previous=previous,
            reason=reason,
            actor=actor,
            key_id=key_id,
        )
    return policy.view(session, distributor_id, row), request


def lowest_cover(session: Session, distributor_id: str, reseller_id: str, current: int) -> int:
    """The lowest cover the reseller had over the previous 30 days (``current`` included; no
    cover counts as 0). Bounded by the reseller's cover decisions in that window."""
    lowest = current
    for after, before in session.execute(
        select(InsuranceCover.cover_minor, InsuranceCover.previous_cover_minor).where(
            InsuranceCover.distributor_id == distributor_id,
            InsuranceCover.reseller_id == reseller_id,
            InsuranceCover.recorded_at >= clock.now() - WINDOW,
        )
    ):
        lowest = min(lowest, after, before or 0)
    return lowest


def record_cover(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    insurer: str,
    cover: Money,
    decided_on: date,
    reference: str | None,
    actor: str,
    key_id: str,
    admin: bool,
    effective_on: date | None = None,
) -> insurance.CoverDecision | PolicyRequest:
    """Record the cover decision at once, or — a raise by more than the approval threshold over
    the lowest cover of the previous 30 days, asked by an officer key — open a pending request
    (nothing recorded yet: the cover cannot lift the insured cap before a second officer agrees)."""
    insurer, cover_minor, reference = insurance.checked(session, distributor_id, insurer, cover, decided_on, reference)
    _locked_reseller(session, distributor_id, reseller_id)
    threshold = policy.approval_threshold(session, distributor_id)
    current = policy.current_cover(session, distributor_id, reseller_id)
    current_minor = current.cover_minor if current is not None else 0
    if (
        not admin
        and threshold is not None
        and cover_minor > current_minor
        and cover_minor - lowest_cover(session, distributor_id, reseller_id, current_minor) > threshold
    ):
        return _open(
            session,
            distributor_id=distributor_id,
            kind="insurance_cover",
            reseller_id=reseller_id,
            changes={
                "insurer": insurer,
                "cover_minor": cover_minor,
                "decided_on": decided_on.isoformat(),
                "effective_on": effective_on.isoformat() if effective_on is not None else None,
                "reference": reference,
            },
            previous={"cover_minor": current.cover_minor if current is not None else None},
            reason=None,
            actor=actor,
            key_id=key_id,
        )
    return insurance.set_cover(
        session,
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        insurer=insurer,
        cover=cover,
        decided_on=decided_on,
        reference=reference,
        actor=actor,
        effective_on=effective_on,
    )


def get(session: Session, *, distributor_id: str, request_id: str, fresh: bool = False) -> PolicyRequest:
    lookup.require_distributor(session, distributor_id)
    stmt = select(PolicyRequest).where(PolicyRequest.distributor_id == distributor_id, PolicyRequest.id == request_id)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    request = session.scalars(stmt).one_or_none()
    if request is None:
        raise NotFound(f"policy request {request_id!r} does not exist at {distributor_id!r}")
    return request


def list_requests(
    session: Session, *, distributor_id: str, status: str | None, after: str | None, limit: int
) -> list[PolicyRequest]:
    """Oldest first; a pending request past its expiry is listed as expired."""
    lookup.require_distributor(session, distributor_id)
    now = clock.now()
    stmt = select(PolicyRequest).where(PolicyRequest.distributor_id == distributor_id)
    if status == "pending":
        stmt = stmt.where(PolicyRequest.status == "pending", PolicyRequest.expires_at > now)
    elif status == "expired":
        stmt = stmt.where(
            (PolicyRequest.status == "expired")
            | ((PolicyRequest.status == "pending") & (PolicyRequest.expires_at <= now))
        )
    elif status is not None:
        stmt = stmt.where(PolicyRequest.status == status)
    if after is not None:
        stmt = stmt.where(PolicyRequest.id > after)
    return list(session.scalars(stmt.order_by(PolicyRequest.id).limit(limit)))


def decide(
    session: Session, *, distributor_id: str, request_id: str, decision: str, reason: str, actor: str, key_id: str
) -> PolicyRequest:
    """Approve (apply what was asked, if the fields still hold what they held) or reject."""
    if decision not in DECISIONS:
        raise ValidationFailed("decision must be approve or reject")
    distributor = lookup.require_distributor(session, distributor_id)
    reason = validation.text(reason, "reason")
    first = get(session, distributor_id=distributor_id, request_id=request_id)
    row = None
    if first.kind == "credit_policy":
        row = policy.locked_row(session, distributor_id, actor)
    else:
        assert first.reseller_id is not None
        _locked_reseller(session, distributor_id, first.reseller_id)
    request = get(session, distributor_id=distributor_id, request_id=request_id, fresh=True)
    if request.requested_key == key_id:
        raise SameApprover("four eyes: the key that asked for this change cannot decide it; another officer must")
    now = clock.now()
    status = effective_status(request, now)
    if status == "expired":
        raise RequestExpired(f"policy request {request_id!r} expired at {request.expires_at.isoformat()}")
    if status != "pending":
        raise AlreadyDecided(f"policy request {request_id!r} was already {status} by {request.decided_by}")
    if decision == "approve":
        changes, previous = changes_of(request), previous_of(request)
        if row is not None:
            stop_asked = STOP in changes
            new_stop, old_stop = stop_of(changes.pop(STOP, None)), stop_of(previous.pop(STOP, None))
            stale = any(getattr(row, column) != value for column, value in previous.items())
            # the distributor's row after the policy row, as change_policy locks them
            if stale or (stop_asked and terms.locked_policy_of(session, distributor_id).overdue_stop != old_stop):
                raise PolicyChanged("the credit policy changed since this request was asked: reject it, and ask again")
            if stop_asked:
                terms.update_policy(session, distributor_id=distributor_id, overdue_stop=new_stop)
            policy.apply(session, row, changes, actor)
        else:
            assert request.reseller_id is not None
            current = policy.current_cover(session, distributor_id, request.reseller_id)
            if (current.cover_minor if current is not None else None) != previous["cover_minor"]:
                raise PolicyChanged("the reseller's cover changed since this request was asked: reject it")
            insurance.set_cover(
                session,
                distributor_id=distributor_id,
                reseller_id=request.reseller_id,
                insurer=changes["insurer"],
                cover=from_minor(changes["cover_minor"], distributor.currency),
                decided_on=date.fromisoformat(changes["decided_on"]),
                reference=changes["reference"],
                actor=actor,
                effective_on=date.fromisoformat(changes["effective_on"]) if changes.get("effective_on") else None,
            )
    request.status = "approved" if decision == "approve" else "rejected"
    request.decided_at, request.decided_by, request.decision_reason = now, actor, reason
    session.flush()
    return request

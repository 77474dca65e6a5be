"""Read-only queries for people (the console): the latest decided limit requests and
nominations of a distributor, newest decision first. The API's lists stay oldest first by id
(cursor order); a desk looking back at what was decided wants the latest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.decisions.models import LimitRequest, Nomination
from creditlines.tenants import lookup


def recent_requests(session: Session, *, distributor_id: str, limit: int) -> list[LimitRequest]:
    """Requests no longer pending (approved, rejected, expired — a pending one past its 14 days
    included), newest first: by decision time, else by expiry."""
    lookup.require_distributor(session, distributor_id)
    now = clock.now()
    stmt = (
        select(LimitRequest)
        .where(
            LimitRequest.distributor_id == distributor_id,
            (LimitRequest.status != "pending") | (LimitRequest.expires_at <= now),
        )
        .order_by(LimitRequest.decided_at.desc().nulls_last(), LimitRequest.expires_at.desc(), LimitRequest.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def recent_nominations(session: Session, *, distributor_id: str, limit: int) -> list[Nomination]:
    """Nominations decided (approved or rejected), newest decision first."""
    lookup.require_distributor(session, distributor_id)
    stmt = (
        select(Nomination)
        .where(Nomination.distributor_id == distributor_id, Nomination.status != "pending")
        .order_by(Nomination.decided_at.desc(), Nomination.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def pending_requests_of(session: Session, *, distributor_id: str, reseller_id: str) -> list[LimitRequest]:
    """The reseller's limit requests still waiting for a decision, oldest first."""
    now = clock.now()
    return list(
        session.scalars(
            select(LimitRequest)
            .where(
                LimitRequest.distributor_id == distributor_id,
                LimitRequest.reseller_id == reseller_id,
                LimitRequest.status == "pending",
                LimitRequest.expires_at > now,
            )
            .order_by(LimitRequest.id)
        )
    )

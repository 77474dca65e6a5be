"""Materialise expiries: what already holds (a line past its end gives no headroom) is
written down, with ``on_expiry`` applied and ledger entries.

This module holds the per-reseller core, shared by termination-style closing in the
ledger service. The nightly command (batches, summaries, locking across runs) builds on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.ledger import repository as repo
from creditlines.ledger import service
from creditlines.ledger.models import Line


@dataclass(frozen=True)
class ResellerExpiry:
    lines_expired: int
    minor_transferred: int
    over_limit: bool


def due_reseller_ids(session: Session, *, distributor_id: str, day: date, limit: int = 1000) -> list[str]:
    """Resellers with an active line whose ``valid_until`` is before local date ``day``."""
    stmt = (
        select(Line.reseller_id)
        .where(Line.distributor_id == distributor_id, Line.status == "active",
               Line.valid_until.is_not(None), Line.valid_until < day)
        .distinct()
        .order_by(Line.reseller_id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def expire_reseller(
    session: Session, *, distributor_id: str, reseller_id: str, day: date, actor: str = "job:expiry"
) -> ResellerExpiry:
    """Expire every active line of one reseller that ended before ``day``. Idempotent."""
    reseller = repo.get_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller is None:
        return ResellerExpiry(0, 0, False)
    lines = repo.lines_of(session, distributor_id, reseller_id)
    base = next(line for line in lines if line.kind == "base")
    expired = moved = 0
    at = clock.now()
    for line in lines:
        if line.status == "active" and line.valid_until is not None and line.valid_until < day:
            moved += service.close_line(session, reseller=reseller, line=line, base=base, status="expired",
                                        at=at, actor=actor, reason=f"valid until {line.valid_until.isoformat()}")
            expired += 1
    current = [line for line in lines if line.status == "active"]
    over = sum(line.drawn_minor for line in current) > sum(line.limit_minor for line in current)
    return ResellerExpiry(expired, moved, over)

"""A programme over time, from the ledger: beneficiaries and drawn amount at the end of each
local day. Read-only (the console's chart); only the programme's own lines are read, never a
base line, so nothing of a reseller's base limit reaches the vendor.

Beneficiaries: programme lines opened (``line_opened``) less those closed (``line_expired``,
``line_revoked``). Drawn: the sum of ``drawn_delta_minor`` of every entry on those lines
(drawings, releases, transfers at expiry) — the same fold ``verify`` does per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.ledger.models import LedgerEntry, Line
from creditlines.programmes.models import Programme
from creditlines.tenants.lookup import require_distributor

CLOSING_KINDS = ("line_expired", "line_revoked")


@dataclass(frozen=True)
class DayPoint:
    day: date
    beneficiaries: int
    drawn_minor: int


def programme_history(session: Session, programme: Programme, *, until: date | None = None) -> list[DayPoint]:
    """One point per local day from the programme's first day (or first entry) to ``until``
    (default: today at the distributor)."""
    distributor = require_distributor(session, programme.distributor_id)
    zone = ZoneInfo(distributor.timezone)
    last = until or clock.local_today(distributor.timezone)
    stmt = (
        select(LedgerEntry.at, LedgerEntry.kind, LedgerEntry.drawn_delta_minor)
        .join(
            Line,
            (Line.distributor_id == LedgerEntry.distributor_id)
            & (Line.reseller_id == LedgerEntry.reseller_id)
            & (Line.id == LedgerEntry.line_id),
        )
        .where(
            Line.distributor_id == programme.distributor_id,
            Line.vendor_id == programme.vendor_id,
            Line.programme_id == programme.id,
        )
        .order_by(LedgerEntry.at)
    )
    changes: dict[date, tuple[int, int]] = {}
    for at, kind, delta in session.execute(stmt):
        day = at.astimezone(zone).date()
        count, drawn = changes.get(day, (0, 0))
        if kind == "line_opened":
            count += 1
        elif kind in CLOSING_KINDS:
            count -= 1
        changes[day] = (count, drawn + (delta or 0))
    first = min([programme.starts_on, *changes]) if changes else programme.starts_on
    points: list[DayPoint] = []
    beneficiaries = drawn_minor = 0
    day = first
    while day <= last:
        count, drawn = changes.get(day, (0, 0))
        beneficiaries += count
        drawn_minor += drawn
        points.append(DayPoint(day, beneficiaries, drawn_minor))
        day += timedelta(days=1)
    return points

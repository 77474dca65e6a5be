"""Events of the nightly job: line.expiring, and the alerts of lines that end.

``line.expiring`` is written 30 and 7 days before a programme line's ``valid_until``, once
each: the event carries a unique key (line, its ``valid_until``, the warning), so a replayed
night, or two jobs at once, write nothing twice; a line moved to a later end gets its warnings
again for the new date. A missed night is caught up: every active line ending within 30 days
(or 7) that has not had its warning gets it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.events import alerts, outbox
from creditlines.events.types import EXPIRING_DAYS, EventType
from creditlines.ledger.models import Line


def write_expiring(session: Session, *, distributor_id: str, day: date) -> int:
    """The warnings due on local date ``day`` at one distributor; returns how many were new."""
    horizon = day + timedelta(days=max(EXPIRING_DAYS))
    lines = session.execute(
        select(Line.id, Line.reseller_id, Line.vendor_id, Line.programme_id, Line.valid_until)
        .where(
            Line.distributor_id == distributor_id,
            Line.kind == "programme",
            Line.status == "active",
            Line.valid_until.is_not(None),
            Line.valid_until >= day,
            Line.valid_until <= horizon,
        )
        .order_by(Line.valid_until, Line.id)
    ).all()
    at = clock.now()
    rows = []
    for line_id, reseller_id, vendor_id, programme_id, valid_until in lines:
        assert valid_until is not None  # selected so
        left = (valid_until - day).days
        warning = min(d for d in EXPIRING_DAYS if left <= d)  # the nearest warning that is due
        rows.append(
            outbox.row(
                EventType.LINE_EXPIRING,
                distributor_id=distributor_id,
                reseller_id=reseller_id,
                vendor_id=vendor_id,
                programme_id=programme_id,
                at=at,
                dedupe_key=f"line.expiring:{distributor_id}:{line_id}:{valid_until.isoformat()}:{warning}",
                data={
                    "line_id": line_id,
                    "programme_id": programme_id,
                    "valid_until": valid_until.isoformat(),
                    "days_before": warning,
                    "days_left": left,
                },
            )
        )
    return outbox.record_once(session, rows)


def run_expiring(uow: object, *, distributor_id: str, day: date) -> int:
    """:func:`write_expiring` in its own transaction (called by the nightly job per distributor)."""
    with uow.write() as s:  # type: ignore[attr-defined]
        return write_expiring(s, distributor_id=distributor_id, day=day)


def totals_before_expiry(
    reseller_ids: list[str], limits: dict[str, int], drawn: dict[str, dict[str, int]], closing: list[tuple[Any, Line]]
) -> dict[str, tuple[int, int]]:
    """(limit, drawn) of each reseller as stored before the job closes its lines (the closing
    lines still counted), from the rows the job read under the resellers' locks."""
    totals = {rid: (limits[rid], sum(drawn[rid].values())) for rid in reseller_ids}
    for _, line in closing:
        limit, drawn_sum = totals[line.reseller_id]
        totals[line.reseller_id] = (limit + line.limit_minor, drawn_sum + line.drawn_minor)
    return totals


def expiry_alerts(
    session: Session, *, distributor_id: str, before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> None:
    """The alerts of lines ending: an expired Mezzanine line whose drawn amount moves to base may
    take a reseller over its limit. (The availability view counted it from midnight; the job is
    the first writer to see it, so the event is written here.)"""
    from creditlines.eligibility import Totals

    def totals(limit: int, drawn: int) -> Totals:
        return Totals(limit=limit, drawn=drawn, available=max(0, limit - drawn), over_limit=drawn > limit)

    at = clock.now()
    rows = []
    for rid, (limit, drawn) in after.items():
        if (limit, drawn) != before[rid]:
            rows += alerts.reseller_rows(
                distributor_id=distributor_id,
                reseller_id=rid,
                before=totals(*before[rid]),
                after=totals(limit, drawn),
                at=at,
                cause="line_expired",
            )
    outbox.record_many(session, rows)

"""The events of the ledger's changes, one call from each write path of ``creditlines.ledger``.

Each function runs in the caller's transaction, after the change, with the rows the caller
already holds (the reseller locked, its lines read under that lock): totals before and after
come from those balances, never from the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from creditlines import clock
from creditlines import eligibility as elig
from creditlines.events import alerts, outbox
from creditlines.events.types import EventType
from creditlines.ledger import repository as repo
from creditlines.ledger.models import Line, Reseller
from creditlines.tenants import lookup

REFUSALS = ("insufficient_credit", "account_on_hold", "reseller_terminated", "overdue_stop")


def _totals(states: Iterable[elig.LineState], day: date) -> elig.Totals:
    return elig.totals(list(states), day)


def _day(session: Session, distributor_id: str, at: datetime) -> date:

    info = lookup.get_distributor(session, distributor_id)
    assert info is not None
    return clock.local_date(at, info.timezone)


def reseller_created(session: Session, reseller: Reseller, *, name: str, at: datetime) -> None:
    outbox.record(
        session,
        EventType.RESELLER_CREATED,
        distributor_id=reseller.distributor_id,
        reseller_id=reseller.id,
        at=at,
        data={"name": name},
    )


def resellers_imported(
    session: Session, *, distributor_id: str, rows: list[tuple[str, str, int]], at: datetime, reason: str
) -> None:
    """A bulk import: reseller.created for each, and limit.changed where a limit was set."""
    events = []
    for reseller_id, name, limit_minor in rows:
        events.append(
            outbox.row(
                EventType.RESELLER_CREATED,
                distributor_id=distributor_id,
                reseller_id=reseller_id,
                at=at,
                data={"name": name},
            )
        )
        if limit_minor:
            events.append(
                outbox.row(
                    EventType.LIMIT_CHANGED,
                    distributor_id=distributor_id,
                    reseller_id=reseller_id,
                    at=at,
                    data={"before_minor": 0, "after_minor": limit_minor, "reason": reason},
                )
            )
    outbox.record_many(session, events)


_STATUS_EVENTS = {
    "hold_placed": EventType.RESELLER_HOLD_PLACED,
    "hold_lifted": EventType.RESELLER_HOLD_LIFTED,
    "reseller_terminated": EventType.RESELLER_TERMINATED,
}


def status_changed(session: Session, reseller: Reseller, *, kind: str, reason: str, at: datetime) -> None:
    """``kind`` is the ledger entry's: hold_placed, hold_lifted or reseller_terminated."""
    outbox.record(
        session,
        _STATUS_EVENTS[kind],
        distributor_id=reseller.distributor_id,
        reseller_id=reseller.id,
        at=at,
        data={"reason": reason},
    )


def limit_changed(
    session: Session, reseller: Reseller, *, lines: list[Line], base: Line, before_minor: int, reason: str, at: datetime
) -> None:
    """After ``base.limit_minor`` was set (from ``before_minor``): limit.changed and the alerts."""
    d = reseller.distributor_id
    outbox.record(
        session,
        EventType.LIMIT_CHANGED,
        distributor_id=d,
        reseller_id=reseller.id,
        at=at,
        data={"line_id": base.id, "before_minor": before_minor, "after_minor": base.limit_minor, "reason": reason},
    )
    day = _day(session, d, at)
    after = [line.state() for line in lines]
    before = [replace(s, limit=before_minor) if s.id == base.id else s for s in after]
    alerts.reseller_changed(
        session,
        distributor_id=d,
        reseller_id=reseller.id,
        before=_totals(before, day),
        after=_totals(after, day),
        at=at,
        cause="limit_changed",
    )


def after_draw(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    reference: str,
    amount_minor: int,
    vendor_id: str | None,
    result: dict[str, Any],
) -> None:
    """The Python drawing path (SQLite): the events ``creditlines_draw`` writes on PostgreSQL."""
    outcome = result["outcome"]
    at = clock.now()
    base = {"reference": reference, "amount_minor": amount_minor, "vendor_id": vendor_id}
    if outcome in REFUSALS:
        data: dict[str, Any] = {**base, "reasons": [outcome]}
        if outcome == "insufficient_credit":
            data.update(available_minor=result["available"], shortfall_minor=result["shortfall"])
        if outcome == "overdue_stop":
            data.update(overdue_minor=result["overdue"])
        outbox.record(
            session, EventType.DRAWING_REFUSED, distributor_id=distributor_id, reseller_id=reseller_id, at=at, data=data
        )
        return
    if outcome == "held":
        hold = result["hold"]
        outbox.record(
            session,
            EventType.DRAWING_HELD,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            at=at,
            data={
                **base,
                "reasons": hold["reasons"],
                "available_minor": result["available"],
                "shortfall_minor": hold["shortfall"],
                "hold_days": result["hold_days"],
            },
        )
        return
    if outcome != "created":
        return
    at = result["created_at"]
    outbox.record(
        session,
        EventType.DRAWING_CREATED,
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        at=at,
        data={
            **base,
            "invoice_date": result["invoice_date"],
            "due_on": result["due_on"],
            "allocations": [
                {"line_id": line_id, "funder": funder, "amount_minor": amount}
                for line_id, funder, amount, _ in result["allocations"]
            ],
        },
    )
    day = _day(session, distributor_id, at)
    after = _totals((line.state() for line in repo.lines_of(session, distributor_id, reseller_id)), day)
    before = elig.Totals(
        limit=after.limit,
        drawn=after.drawn - amount_minor,
        available=max(0, after.limit - after.drawn + amount_minor),
        over_limit=after.drawn - amount_minor > after.limit,
    )
    alerts.reseller_changed(
        session,
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        before=before,
        after=after,
        at=at,
        cause="drawing",
        extra={"reference": reference},
    )


def released(
    session: Session,
    reseller: Reseller,
    *,
    drawing: Any,
    release_reference: str,
    amount_minor: int,
    lines: Iterable[Line],
    plan: list[tuple[str, int]],
    at: datetime,
) -> None:
    """After a release: drawing.settled when nothing is outstanding, and back within limit."""
    d = reseller.distributor_id
    if drawing.status == "settled":
        outbox.record(
            session,
            EventType.DRAWING_SETTLED,
            distributor_id=d,
            reseller_id=reseller.id,
            at=at,
            data={
                "reference": drawing.reference,
                "amount_minor": drawing.amount_minor,
                "release_reference": release_reference,
                "release_amount_minor": amount_minor,
            },
        )
    freed = dict(plan)
    after = [line.state() for line in lines]
    before = [replace(s, drawn=s.drawn + freed.get(s.id, 0)) for s in after]
    day = _day(session, d, at)
    alerts.reseller_changed(
        session,
        distributor_id=d,
        reseller_id=reseller.id,
        before=_totals(before, day),
        after=_totals(after, day),
        at=at,
        cause="release",
        extra={"reference": drawing.reference},
    )


def line_granted(session: Session, reseller: Reseller, line: Line, *, at: datetime) -> None:
    outbox.record(
        session,
        EventType.LINE_GRANTED,
        distributor_id=reseller.distributor_id,
        reseller_id=reseller.id,
        vendor_id=line.vendor_id,
        programme_id=line.programme_id,
        at=at,
        data=_line_data(line)
        | {"limit_minor": line.limit_minor, "valid_from": line.valid_from.isoformat(), "usable_for": line.usable_for},
    )


def line_extended(session: Session, reseller: Reseller, line: Line, *, before: date | None, at: datetime) -> None:
    outbox.record(
        session,
        EventType.LINE_EXTENDED,
        distributor_id=reseller.distributor_id,
        reseller_id=reseller.id,
        vendor_id=line.vendor_id,
        programme_id=line.programme_id,
        at=at,
        data=_line_data(line) | {"valid_until_before": before.isoformat() if before else None},
    )


def _line_data(line: Line) -> dict[str, Any]:
    return {
        "line_id": line.id,
        "programme_id": line.programme_id,
        "valid_until": line.valid_until.isoformat() if line.valid_until else None,
    }


def lines_closed(
    session: Session,
    *,
    distributor_id: str,
    closing: list[tuple[Reseller, Line]],
    status: str,
    at: datetime,
    moving: set[str],
) -> None:
    """line.expired / line.revoked for lines being closed (``moving``: ids whose drawn amount
    moves to base; read before the caller's set-wise update expires the objects)."""
    kind = EventType.LINE_EXPIRED if status == "expired" else EventType.LINE_REVOKED
    outbox.record_many(
        session,
        [
            outbox.row(
                kind,
                distributor_id=distributor_id,
                reseller_id=line.reseller_id,
                vendor_id=line.vendor_id,
                programme_id=line.programme_id,
                at=at,
                data=_line_data(line)
                | {
                    "on_expiry": line.on_expiry,
                    "transferred_minor": line.drawn_minor if line.id in moving else 0,
                    "run_off_minor": 0 if line.id in moving else line.drawn_minor,
                },
            )
            for _, line in closing
        ],
    )

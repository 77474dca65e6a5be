"""The re-check of a reseller's held orders, written set-wise (SPEC §16).

Decided in Python on the lines the caller read under the reseller's lock, oldest held order
first; written in a few statements whatever the number of orders released: the drawings' new
state (one ``UPDATE`` for those released, which all take the same values, one for those
expired), their allocations (one ``COPY`` on PostgreSQL), their ledger entries (one ``COPY``,
numbered from the reseller's sequence), their events (one insert), the lines' balances (one
UPDATE per line touched) and the reseller's counters. The rows are those
:func:`creditlines.ledger.posting.post_plan` writes for an accepted drawing, entry for entry.
SQLite runs the same statements, the inserts as ``executemany``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from creditlines import clock
from creditlines import eligibility as elig
from creditlines.db import bulk
from creditlines.events import outbox
from creditlines.events.types import EventType
from creditlines.ledger import journal, terms
from creditlines.ledger import repository as repo
from creditlines.ledger.models import Allocation, Drawing, Financing, Line, Reseller
from creditlines.tenants import lookup

DRAWING = cast(Table, Drawing.__table__)
ALLOCATION = cast(Table, Allocation.__table__)


@dataclass(frozen=True)
class HeldOutcome:
    released: list[str]
    expired: list[str]


def release_held_orders(
    session: Session,
    reseller: Reseller,
    *,
    actor: str,
    cause: str,
    at: datetime | None = None,
    lines: list[Line] | None = None,
) -> HeldOutcome:
    """Re-check the reseller's held orders (``reseller`` read under its lock by the caller), oldest
    first (``held_at``, then reference): each that fits now becomes an ordinary open drawing (with
    ``drawing.hold_released``), each past its expiry becomes ``expired`` (``drawing.hold_expired``),
    the rest stay held. ``cause`` names the change (``release``, ``limit_raised``, ``line_granted``,
    ``line_extended``, ``hold_lifted``, ``financing``, ``overdue_cleared``, ``nightly``).
    Nothing is read when the reseller holds no order (``reseller.held_count`` is 0)."""
    if reseller.held_count <= 0:
        return HeldOutcome([], [])
    now = at or clock.now()
    distributor = lookup.get_distributor(session, reseller.distributor_id)
    assert distributor is not None
    day = clock.local_date(now, distributor.timezone)
    d, r = reseller.distributor_id, reseller.id
    session.flush()  # the caller's pending rows (and entries) first
    held = list(
        session.execute(
            select(DRAWING)
            .where(DRAWING.c.distributor_id == d, DRAWING.c.reseller_id == r, DRAWING.c.status == "held")
            .order_by(DRAWING.c.held_at, DRAWING.c.reference)
        )
    )
    if lines is None:
        lines = repo.lines_of(session, d, r)
    by_id = {line.id: line for line in lines}
    states = [line.state() for line in lines]
    position_of = {line.id: i for i, line in enumerate(lines)}
    # SPEC §18: no held order is released while the overdue stop holds; one released is invoiced
    # on the day of its release, due after the reseller's terms from then.
    policy = terms.policy_of(session, d)
    stopped = policy.overdue_stop is not None and terms.stop_amount(session, d, r, day, policy.overdue_stop) is not None
    due_on = day + timedelta(days=terms.terms_days_of(reseller, policy))
    seq = reseller.ledger_seq
    allocations: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    released: list[str] = []
    expired: list[str] = []
    for row in held:
        if row.hold_expires_at is not None and now >= row.hold_expires_at:
            events.append(_event(EventType.DRAWING_HOLD_EXPIRED, row, now, {}))
            expired.append(row.reference)
            continue
        if reseller.status != "active" or stopped:
            continue
        decision = elig.decide(
            states,
            amount=row.amount_minor,
            vendor_id=row.vendor_id,
            day=day,
            reseller_status=reseller.status,
            reference=row.reference,
        )
        if not decision.eligible:
            continue
        seq += 1
        entries.append(
            journal.entry_row(
                d,
                r,
                seq,
                at=now,
                actor=actor,
                kind="drawing_posted",
                drawing_reference=row.reference,
                amount_minor=row.amount_minor,
                details={"vendor_id": row.vendor_id} if row.vendor_id else None,
            )
        )
        posted = []
        for position, item in enumerate(decision.plan):
            line = by_id[item.line_id]
            line.drawn_minor += item.amount
            if line.kind != "base" and line.drawn_minor > line.limit_minor:  # pragma: no cover
                raise RuntimeError("waterfall overdrew a vendor-funded line")
            allocations.append(
                {
                    "distributor_id": d,
                    "reseller_id": r,
                    "drawing_reference": row.reference,
                    "line_id": line.id,
                    "funder": line.funder,
                    "amount_minor": item.amount,
                    "outstanding_minor": item.amount,
                    "position": position,
                }
            )
            posted.append({"line_id": line.id, "funder": line.funder, "amount_minor": item.amount})
            seq += 1
            entries.append(
                journal.entry_row(
                    d,
                    r,
                    seq,
                    at=now,
                    actor=actor,
                    kind="drawing_allocated",
                    line_id=line.id,
                    drawing_reference=row.reference,
                    drawn_delta_minor=item.amount,
                )
            )
            if line.kind == "financing":
                _start_financier_clock(session, d, r, line.id, now)
        for item in decision.plan:  # a line's state is its own row: only those drawn on change
            states[position_of[item.line_id]] = by_id[item.line_id].state()
        events.append(
            _event(EventType.DRAWING_HOLD_RELEASED, row, now, {"status": "open", "cause": cause, "allocations": posted})
        )
        released.append(row.reference)
    if not released and not expired:
        return HeldOutcome([], [])
    conn = session.connection()
    # Every order released takes the same values (its outstanding is its amount, invoiced today),
    # every order expired too: one UPDATE per outcome, the references as one array on PostgreSQL.
    for refs, values in (
        (
            released,
            {"status": "open", "outstanding_minor": DRAWING.c.amount_minor, "hold_released_at": now}
            | {"hold_ended_at": None, "invoice_date": day, "due_on": due_on},
        ),
        (expired, {"status": "expired", "outstanding_minor": 0, "hold_released_at": None, "hold_ended_at": now}),
    ):
        for i in range(0, len(refs), 1000):
            chunk = refs[i : i + 1000]
            done = conn.execute(
                update(DRAWING)
                .where(
                    DRAWING.c.distributor_id == d,
                    DRAWING.c.reseller_id == r,
                    bulk.one_of(DRAWING.c.reference, chunk, conn),
                    DRAWING.c.status == "held",
                )
                .values(values)
            )
            if done.rowcount != len(chunk):  # pragma: no cover - read as held under the reseller's lock
                raise RuntimeError(f"held orders of {d}/{r} changed under the lock")
    if allocations:
        if bulk.usable(conn):
            bulk.insert_rows(conn, ALLOCATION, allocations)
        else:
            conn.execute(insert(ALLOCATION), allocations)
    journal.insert_rows(conn, entries)
    outbox.record_many(session, events)
    reseller.ledger_seq = seq
    reseller.held_count -= len(released) + len(expired)
    _forget(session, d, r, {*released, *expired})
    session.flush()
    return HeldOutcome(released, expired)


def _event(type_: EventType, row: Row[Any], at: datetime, extra: dict[str, Any]) -> dict[str, Any]:
    return outbox.row(
        type_,
        distributor_id=row.distributor_id,
        reseller_id=row.reseller_id,
        at=at,
        data={
            "reference": row.reference,
            "amount_minor": row.amount_minor,
            "vendor_id": row.vendor_id,
            "held_at": row.held_at.isoformat() if row.held_at else None,
            **extra,
        },
    )


def _start_financier_clock(session: Session, d: str, r: str, line_id: str, at: datetime) -> None:
    financing = session.scalars(
        select(Financing).where(Financing.distributor_id == d, Financing.reseller_id == r, Financing.line_id == line_id)
    ).one()
    financing.drawn_at = at
    financing.due_at = at + timedelta(hours=financing.pay_within_hours)


def _forget(session: Session, d: str, r: str, references: set[str]) -> None:
    """The session's copies of the drawings written here are stale: reload them on next access."""
    for reference in references:
        obj = session.identity_map.get(identity_key(Drawing, (d, r, reference)))
        if obj is not None:
            session.expire(obj)

"""Financed orders (SPEC §17): the vendor's financier carries one order, not the reseller's lines.

A financing is a line of kind ``financing`` (``funder`` the financier, ``limit`` the amount)
usable only by the drawing whose reference is its ``order_reference``, first in that drawing's
waterfall (``creditlines.eligibility``; ``creditlines_draw`` on PostgreSQL). Drawing on it starts
the financier's clock: ``due_at`` = the drawing + ``pay_within_hours``. A release of kind
``financier_payment`` frees the financing allocation first (:mod:`creditlines.ledger.releases`)
and, once it is paid in full, records ``paid_at``. Still outstanding at ``due_at``, the rest
moves to the base line as ``transfer_to_base`` moves an ended line's (``drawn_transferred_out`` /
``_in``), the financier is recorded late (``overdue_at``) and ``financing.overdue`` is written:
by :func:`move_overdue` (the nightly job, and ``POST /v1/jobs/expiry``). Unused 30 days after
it was opened, the line ends with the other lines (the expiry job): it lapses.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from moneyed import Money
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.errors import Conflict, IdempotencyConflict, InvalidAmount, ResellerTerminated, ValidationFailed
from creditlines.events.types import EventType
from creditlines.ledger import held_events, journal
from creditlines.ledger import repository as repo
from creditlines.ledger.held_release import release_held_orders
from creditlines.ledger.models import Allocation, Drawing, Financing, Line, Reseller
from creditlines.ledger.repository import require_reseller
from creditlines.money import from_minor
from creditlines.tenants.lookup import require_distributor

LAPSE_DAYS = 30
_FINANCIER = re.compile(r"[A-Za-z0-9._:@-]{1,64}")


@dataclass(frozen=True)
class FinancingView:
    reference: str
    reseller_id: str
    financier: str
    amount: Money
    order_reference: str
    pay_within_hours: int
    line_id: str
    status: str  # open (not drawn yet), drawn, paid, overdue, lapsed
    created_at: datetime
    drawn_at: datetime | None
    due_at: datetime | None
    paid_at: datetime | None
    overdue_at: datetime | None
    overdue: Money


def financing_view(f: Financing, currency: str, line_status: str) -> FinancingView:
    if f.paid_at is not None:
        status = "paid"
    elif f.overdue_at is not None:
        status = "overdue"
    elif f.drawn_at is not None:
        status = "drawn"
    else:
        status = "lapsed" if line_status != "active" else "open"
    return FinancingView(
        reference=f.reference,
        reseller_id=f.reseller_id,
        financier=f.financier,
        amount=from_minor(f.amount_minor, currency),
        order_reference=f.order_reference,
        pay_within_hours=f.pay_within_hours,
        line_id=f.line_id,
        status=status,
        created_at=f.created_at,
        drawn_at=f.drawn_at,
        due_at=f.due_at,
        paid_at=f.paid_at,
        overdue_at=f.overdue_at,
        overdue=from_minor(f.overdue_minor, currency),
    )


def create_financing(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    reference: str,
    financier: str,
    amount: Money,
    order_reference: str,
    pay_within_hours: int = 48,
    actor: str,
) -> tuple[FinancingView, bool]:
    """Open a financing line for one order. Returns (the financing, created). The same body again
    answers the financing (created False); a different one ``idempotency_conflict``. Two identical
    creations at once: the reseller's lock orders them, the second finds the first."""
    distributor = require_distributor(session, distributor_id)
    validation.reference(reference)
    validation.reference(order_reference, "order_reference")
    if not isinstance(financier, str) or _FINANCIER.fullmatch(financier) is None:
        raise ValidationFailed("financier must be 1 to 64 of A-Z a-z 0-9 . _ : @ -")
    if not 1 <= pay_within_hours <= 720:
        raise ValidationFailed("pay_within_hours must be between 1 and 720")
    amount_minor = validation.amount_minor(amount, distributor.currency)
    if amount_minor <= 0:
        raise InvalidAmount("amount must be positive")
    reseller = require_reseller(session, distributor_id, reseller_id, lock=True)
    existing = session.get(Financing, (distributor_id, reseller_id, reference))
    if existing is not None:
        same = (existing.financier, existing.amount_minor, existing.order_reference, existing.pay_within_hours) == (
            financier,
            amount_minor,
            order_reference,
            pay_within_hours,
        )
        if not same:
            raise IdempotencyConflict(f"financing {reference!r} was already created with a different body")
        line = session.get(Line, (distributor_id, existing.line_id))
        return financing_view(existing, distributor.currency, line.status if line else "active"), False
    if reseller.status == "terminated":
        raise ResellerTerminated(f"reseller {reseller_id!r} is terminated")
    order = repo.get_drawing(session, distributor_id, reseller_id, order_reference)
    if order is not None and order.status != "held":
        raise Conflict(f"order {order_reference!r} is already {order.status}: a financing carries an order to come")
    now = clock.now()
    start = clock.local_date(now, distributor.timezone)
    line = Line(
        distributor_id=distributor_id,
        id=str(uuid.uuid4()),
        reseller_id=reseller_id,
        kind="financing",
        programme_id=None,
        vendor_id=None,
        funder=financier,
        limit_minor=amount_minor,
        drawn_minor=0,
        valid_from=start,
        valid_until=start + timedelta(days=LAPSE_DAYS),
        usable_for="any",
        on_expiry="transfer_to_base",
        status="active",
        granted_at=now,
        grant_seq=reseller.ledger_seq + 1,
        order_reference=order_reference,
    )
    session.add(line)
    journal.append(
        session,
        reseller,
        kind="line_opened",
        actor=actor,
        at=now,
        reason=f"financing {reference}",
        line_id=line.id,
        limit_after_minor=amount_minor,
        valid_until_after=line.valid_until,
        status_after="active",
        drawn_delta_minor=0,
        details={
            "kind": "financing",
            "funder": financier,
            "order_reference": order_reference,
            "valid_from": start.isoformat(),
        },
    )
    session.flush()  # the line before the financing that references it
    financing = Financing(
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        reference=reference,
        financier=financier,
        amount_minor=amount_minor,
        order_reference=order_reference,
        pay_within_hours=pay_within_hours,
        line_id=line.id,
        created_at=now,
        created_by=actor,
        overdue_minor=0,
    )
    session.add(financing)
    session.flush()
    held_events.financing_event(
        session,
        EventType.FINANCING_CREATED,
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        at=now,
        data={
            "reference": reference,
            "financier": financier,
            "amount_minor": amount_minor,
            "order_reference": order_reference,
            "pay_within_hours": pay_within_hours,
        },
    )
    release_held_orders(session, reseller, actor=actor, cause="financing", at=now)  # the order may be held
    return financing_view(financing, distributor.currency, "active"), True


def after_financier_payment(session: Session, drawing: Drawing, allocations: list[Allocation], at: datetime) -> None:
    """After a ``financier_payment``: each financing of the drawing whose allocation is now paid in
    full, and not already late, is recorded paid at ``at``."""
    by_line = {a.line_id: a for a in allocations}
    for f in _financings_of(session, drawing):
        alloc = by_line.get(f.line_id)
        if alloc is not None and alloc.outstanding_minor == 0 and f.paid_at is None and f.overdue_at is None:
            f.paid_at = at


def _financings_of(session: Session, drawing: Drawing) -> list[Financing]:
    return list(
        session.scalars(
            select(Financing).where(
                Financing.distributor_id == drawing.distributor_id,
                Financing.reseller_id == drawing.reseller_id,
                Financing.order_reference == drawing.reference,
            )
        )
    )


def move_overdue(session: Session, *, distributor_id: str, actor: str = "job:financing") -> int:
    """Every financing of the distributor past its due instant and not paid: what is still
    outstanding on its line moves to the base line, the financier is recorded late. Resellers
    are locked in id order. Returns how many financings became overdue."""
    now = clock.now()
    due = [
        (r, ref)
        for r, ref in session.execute(
            select(Financing.reseller_id, Financing.reference)
            .where(
                Financing.distributor_id == distributor_id,
                Financing.due_at.is_not(None),
                Financing.paid_at.is_(None),
                Financing.overdue_at.is_(None),
                Financing.due_at <= now,
            )
            .order_by(Financing.reseller_id, Financing.reference)
        )
    ]
    if not due:
        return 0
    count = 0
    for reseller in repo.lock_resellers(session, distributor_id, sorted({r for r, _ in due})):
        for r, reference in due:
            if r == reseller.id and _move_one(session, reseller, reference, now, actor):
                count += 1
    session.flush()
    return count


def _move_one(session: Session, reseller: Reseller, reference: str, now: datetime, actor: str) -> bool:
    f = session.get(Financing, (reseller.distributor_id, reseller.id, reference), populate_existing=True)
    if f is None or f.paid_at is not None or f.overdue_at is not None:
        return False  # paid or moved meanwhile (read again under the lock)
    lines = {line.id: line for line in repo.lines_of(session, reseller.distributor_id, reseller.id)}
    base = next(line for line in lines.values() if line.kind == "base")
    allocs = {
        a.line_id: a for a in repo.allocations_of(session, reseller.distributor_id, reseller.id, [f.order_reference])
    }
    alloc = allocs.get(f.line_id)
    moving = alloc.outstanding_minor if alloc is not None else 0
    why = f"financing {reference}: {f.financier} did not pay within {f.pay_within_hours} hours"
    if moving:
        assert alloc is not None
        alloc.outstanding_minor -= moving
        lines[f.line_id].drawn_minor -= moving
        base.drawn_minor += moving
        base_alloc = allocs.get(base.id)
        if base_alloc is None:
            base_alloc = Allocation(
                distributor_id=reseller.distributor_id,
                reseller_id=reseller.id,
                drawing_reference=f.order_reference,
                line_id=base.id,
                funder=base.funder,
                amount_minor=0,  # created by a transfer
                outstanding_minor=0,
                position=max(a.position for a in allocs.values()) + 1,
            )
            session.add(base_alloc)
        base_alloc.outstanding_minor += moving
        for kind, line_id, delta, details in (
            ("drawn_transferred_out", f.line_id, -moving, {"to_line": base.id}),
            ("drawn_transferred_in", base.id, moving, {"from_line": f.line_id}),
        ):
            journal.append(
                session,
                reseller,
                kind=kind,
                actor=actor,
                at=now,
                reason=why,
                line_id=line_id,
                drawing_reference=f.order_reference,
                drawn_delta_minor=delta,
                details=details,
            )
    f.overdue_at, f.overdue_minor = now, moving
    held_events.financing_event(
        session,
        EventType.FINANCING_OVERDUE,
        distributor_id=reseller.distributor_id,
        reseller_id=reseller.id,
        at=now,
        data={
            "reference": reference,
            "financier": f.financier,
            "order_reference": f.order_reference,
            "due_at": f.due_at.isoformat() if f.due_at else None,
            "moved_to_base_minor": moving,
        },
    )
    return True

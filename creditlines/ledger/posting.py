"""Writing an accepted drawing down its plan, and the outcome document both engines answer.

Shared by the Python drawing path (:mod:`creditlines.ledger.drawings`) and the release of held
orders (:mod:`creditlines.ledger.held`): the ``drawing_posted`` entry, then per plan item the
line's balance, the allocation and its ``drawing_allocated`` entry, in waterfall order, exactly as
``creditlines_draw`` writes them on PostgreSQL. A financing line drawn starts its financier's clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import eligibility as elig
from creditlines.ledger import journal
from creditlines.ledger.models import Allocation, Drawing, Financing, Line, Reseller


def post_plan(
    session: Session,
    reseller: Reseller,
    drawing: Drawing,
    plan: tuple[elig.PlanItem, ...],
    lines: dict[str, Line],
    *,
    actor: str,
    at: datetime,
) -> list[Allocation]:
    """Journal the drawing and allocate it along ``plan`` (lines read under the reseller's lock)."""
    journal.append(
        session,
        reseller,
        kind="drawing_posted",
        actor=actor,
        at=at,
        drawing_reference=drawing.reference,
        amount_minor=drawing.amount_minor,
        details={"vendor_id": drawing.vendor_id} if drawing.vendor_id else None,
    )
    allocations = []
    for position, item in enumerate(plan):
        line = lines[item.line_id]
        line.drawn_minor += item.amount
        if line.kind != "base" and line.drawn_minor > line.limit_minor:  # pragma: no cover
            raise RuntimeError("waterfall overdrew a vendor-funded line")
        alloc = Allocation(
            distributor_id=drawing.distributor_id,
            reseller_id=drawing.reseller_id,
            drawing_reference=drawing.reference,
            line_id=line.id,
            funder=line.funder,
            amount_minor=item.amount,
            outstanding_minor=item.amount,
            position=position,
        )
        session.add(alloc)
        allocations.append(alloc)
        journal.append(
            session,
            reseller,
            kind="drawing_allocated",
            actor=actor,
            at=at,
            line_id=line.id,
            drawing_reference=drawing.reference,
            drawn_delta_minor=item.amount,
        )
        if line.kind == "financing":
            financing = session.scalars(
                select(Financing).where(
                    Financing.distributor_id == drawing.distributor_id,
                    Financing.reseller_id == drawing.reseller_id,
                    Financing.line_id == line.id,
                )
            ).one()
            financing.drawn_at = at
            financing.due_at = at + timedelta(hours=financing.pay_within_hours)
    session.flush()
    return allocations


def hold_document(drawing: Drawing) -> dict[str, Any] | None:
    """A drawing's ``hold`` in the outcome document (``None`` for one never held)."""
    if drawing.held_at is None:
        return None
    return {
        "reasons": (drawing.hold_reasons or "").split(",") if drawing.hold_reasons else [],
        "shortfall": drawing.hold_shortfall_minor,
        "held_at": drawing.held_at,
        "expires_at": drawing.hold_expires_at,
        "released_at": drawing.hold_released_at,
    }


def drawing_document(outcome: str, drawing: Drawing, allocations: list[Allocation]) -> dict[str, Any]:
    """The outcome document of ``creditlines_draw``, from the rows (the Python path)."""
    return {
        "outcome": outcome,
        "amount": drawing.amount_minor,
        "outstanding": drawing.outstanding_minor,
        "status": drawing.status,
        "vendor_id": drawing.vendor_id,
        "created_at": drawing.created_at,
        "invoice_date": drawing.invoice_date.isoformat(),
        "due_on": drawing.due_on.isoformat(),
        "allocations": [
            [a.line_id, a.funder, a.amount_minor, a.outstanding_minor]
            for a in sorted(allocations, key=lambda a: a.position)
        ],
        "hold": hold_document(drawing),
    }

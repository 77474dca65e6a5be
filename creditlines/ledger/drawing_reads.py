"""Drawings as read: one drawing's document, a reseller's drawings page by page."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.errors import NotFound
from creditlines.ledger import repository as repo
from creditlines.ledger.models import Allocation, Drawing
from creditlines.ledger.repository import require_reseller
from creditlines.ledger.views import AllocationView, DrawingView, HoldView
from creditlines.money import from_minor
from creditlines.tenants.lookup import require_distributor


def drawing_view(
    session: Session, drawing: Drawing, currency: str, allocations: list[Allocation] | None = None
) -> DrawingView:
    if allocations is None:
        allocations = (
            []
            if drawing.status in ("held", "cancelled", "expired")
            else repo.allocations_of(session, drawing.distributor_id, drawing.reseller_id, [drawing.reference])
        )
    hold = None
    if drawing.held_at is not None and drawing.hold_expires_at is not None:
        shortfall = drawing.hold_shortfall_minor
        hold = HoldView(
            reasons=drawing.hold_reasons.split(",") if drawing.hold_reasons else [],
            shortfall=None if shortfall is None else from_minor(shortfall, currency),
            held_at=drawing.held_at,
            expires_at=drawing.hold_expires_at,
            released_at=drawing.hold_released_at,
        )
    return DrawingView(
        reference=drawing.reference,
        amount=from_minor(drawing.amount_minor, currency),
        outstanding=from_minor(drawing.outstanding_minor, currency),
        status=shown_status(drawing.status, drawing.hold_expires_at),
        vendor_id=drawing.vendor_id,
        allocations=[
            AllocationView(
                a.line_id, a.funder, from_minor(a.amount_minor, currency), from_minor(a.outstanding_minor, currency)
            )
            for a in sorted(allocations, key=lambda a: a.position)
        ],
        created_at=drawing.created_at,
        invoice_date=drawing.invoice_date,
        due_on=drawing.due_on,
        hold=hold,
    )


def shown_status(status: str, expires_at: datetime | None) -> str:
    """A held order past its expiry is ``expired`` from that instant, whether or not the job ran."""
    if status == "held" and expires_at is not None and clock.now() >= expires_at:
        return "expired"
    return status


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def get_drawing(session: Session, *, distributor_id: str, reseller_id: str, reference: str) -> DrawingView:
    distributor = require_distributor(session, distributor_id)
    require_reseller(session, distributor_id, reseller_id, lock=False)
    drawing = repo.get_drawing(session, distributor_id, reseller_id, reference)
    if drawing is None:
        raise NotFound(f"drawing {reference!r} does not exist for reseller {reseller_id!r}")
    return drawing_view(session, drawing, distributor.currency)


def list_drawings(
    session: Session, *, distributor_id: str, reseller_id: str, after: str | None, limit: int, status: str | None = None
) -> list[DrawingView]:
    distributor = require_distributor(session, distributor_id)
    require_reseller(session, distributor_id, reseller_id, lock=False)
    drawings = repo.list_drawings(
        session, distributor_id, reseller_id, after_reference=after, limit=limit, status=status
    )
    allocations = repo.allocations_of(session, distributor_id, reseller_id, [d.reference for d in drawings])
    by_ref: dict[str, list[Allocation]] = {}
    for alloc in allocations:
        by_ref.setdefault(alloc.drawing_reference, []).append(alloc)
    return [drawing_view(session, d, distributor.currency, by_ref.get(d.reference, [])) for d in drawings]

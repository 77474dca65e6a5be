"""The events of held orders after they were held (SPEC §16) and of financings (SPEC §17).

``drawing.held`` is written by the drawing itself (``creditlines_draw`` on PostgreSQL,
:func:`creditlines.ledger.events.after_draw` in Python); ``drawing.hold_released`` and the
expiries of a re-check by :mod:`creditlines.ledger.held_release`, with its other rows. The rest
happen here, in Python on both databases, in the transaction of the change that caused them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from creditlines.events import outbox
from creditlines.events.types import EventType
from creditlines.ledger.models import Drawing


def _base(drawing: Drawing) -> dict[str, Any]:
    return {
        "reference": drawing.reference,
        "amount_minor": drawing.amount_minor,
        "vendor_id": drawing.vendor_id,
        "held_at": drawing.held_at.isoformat() if drawing.held_at else None,
    }


def hold_ended(session: Session, drawing: Drawing, *, at: datetime) -> None:
    """drawing.hold_expired or drawing.hold_cancelled, from the drawing's new status."""
    type_ = EventType.DRAWING_HOLD_EXPIRED if drawing.status == "expired" else EventType.DRAWING_HOLD_CANCELLED
    outbox.record(
        session,
        type_,
        distributor_id=drawing.distributor_id,
        reseller_id=drawing.reseller_id,
        at=at,
        data=_base(drawing),
    )


def financing_event(
    session: Session, type_: EventType, *, distributor_id: str, reseller_id: str, at: datetime, data: dict[str, Any]
) -> None:
    """financing.created and financing.overdue (distributor-only: they name the reseller's base)."""
    outbox.record(session, type_, distributor_id=distributor_id, reseller_id=reseller_id, at=at, data=data)

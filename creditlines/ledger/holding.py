"""A refused drawing stored as a held order (SPEC §16) by the Python engine, as
``creditlines_draw`` does on PostgreSQL: nothing drawn, the reseller's count up, the reasons in
the function's order. Released by :mod:`creditlines.ledger.held_release`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from creditlines import eligibility as elig
from creditlines.ledger.models import Drawing
from creditlines.ledger.posting import drawing_document
from creditlines.tenants.models import Distributor


def hold_order(
    session: Session,
    request: Any,
    reseller: Any,
    decision: elig.Decision,
    now: datetime,
    dates: tuple[date, date],
    stopped: dict[str, Any] | None,
) -> dict[str, Any]:
    """Store a refused drawing as a held order (SPEC §16): nothing drawn, the reseller's count up.
    Its reasons in the order creditlines_draw gives them: account_on_hold, overdue_stop,
    insufficient_credit."""
    row = session.get(Distributor, request.distributor.id)
    hold_days = row.hold_days if row is not None else 7
    reasons = [r.code for r in decision.reasons]
    if stopped is not None:
        reasons.insert(1 if reasons[:1] == ["account_on_hold"] else 0, "overdue_stop")
    drawing = Drawing(
        distributor_id=request.distributor.id,
        reseller_id=request.reseller_id,
        reference=request.reference,
        amount_minor=request.amount_minor,
        outstanding_minor=0,
        vendor_id=request.vendor_id,
        status="held",
        created_at=now,
        created_by=request.actor,
        held_at=now,
        hold_expires_at=now + timedelta(days=hold_days),
        hold_reasons=",".join(reasons),
        hold_shortfall_minor=(decision.shortfall or None) if not decision.eligible else None,
        invoice_date=dates[0],
        due_on=dates[1],
    )
    session.add(drawing)
    reseller.held_count += 1
    session.flush()
    document = drawing_document("held", drawing, [])
    document.update(available=decision.available, hold_days=hold_days)
    if stopped is not None:
        document["overdue_stop"] = stopped
    return document

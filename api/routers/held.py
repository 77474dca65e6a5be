"""Held orders (SPEC §16): cancel one, list a distributor's (its `hold_days`: `PATCH /v1/distributors/{d}`,
api/routers/decisions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api import render
from api.deps import Cursor, DistributorId, ReferencePath, ResellerId, allow, decode_cursor, encode_cursor, get_uow
from api.schemas.drawings import DrawingOut
from api.schemas.held import HeldOrderPage
from creditlines.auth.service import Principal
from creditlines.csvdoc import to_csv
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.ledger import held

router = APIRouter(prefix="/v1/distributors/{distributor_id}", tags=["held orders"])

officer = allow("credit_officer")
officer_or_integration = allow("credit_officer", "integration")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@router.delete("/resellers/{reseller_id}/drawings/{reference}", response_model=DrawingOut)
@retry_transient
def cancel_drawing(
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    reference: ReferencePath,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer_or_integration),
):
    """Cancel a held order (200, status `cancelled`); a drawing that is not held: `409 not_held`."""
    with uow.write() as s:
        drawing = held.cancel_held_order(
            s, distributor_id=distributor_id, reseller_id=reseller_id, reference=reference, actor=who.actor
        )
    return render.json_response(render.document(drawing))


def _micros(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


@router.get(
    "/held-orders",
    response_model=HeldOrderPage,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV"}},
)
def list_held_orders(
    request: Request,
    distributor_id: DistributorId,
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=1000),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer_or_integration),
):
    """Held orders, oldest first, each with its reseller and what it lacks now. JSON (paginated), or
    CSV with `Accept: text/csv` (all of them, flat)."""
    key = decode_cursor(cursor, "held")
    after = None if key is None else (EPOCH + timedelta(microseconds=key[0]), key[1], key[2])
    with uow.read() as s:
        rows = held.list_held_orders(s, distributor_id=distributor_id, limit=limit + 1, after=after)
    page = rows[:limit]
    if "text/csv" in request.headers.get("accept", ""):
        with uow.read() as s:
            flat = held.held_listing(s, distributor_id=distributor_id)
        return Response(to_csv(flat, held.HELD_FIELDS), media_type="text/csv")
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        assert last.drawing.hold is not None
        next_cursor = encode_cursor([_micros(last.drawing.hold.held_at), last.reseller_id, last.drawing.reference])
    return render.json_response({"items": render.document(page), "next_cursor": next_cursor})

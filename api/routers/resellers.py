"""Resellers, limits, holds, availability, eligibility, drawings, releases, ledger."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from sqlalchemy.orm import Session

from api import render
from api.deps import (
    Cursor,
    DistributorId,
    ReferencePath,
    ResellerId,
    allow,
    decode_cursor,
    distributor_of,
    encode_cursor,
    get_uow,
    money_in,
)
from api.routers.decisions import pending_response
from api.schemas.common import MoneyOut
from api.schemas.decisions import LimitRequestOut
from api.schemas.drawings import (
    DRAWING_EXAMPLES,
    ELIGIBILITY_EXAMPLES,
    RELEASE_EXAMPLES,
    DecisionOut,
    DrawingIn,
    DrawingOut,
    DrawingPage,
    EligibilityIn,
    ReleaseIn,
)
from api.schemas.ledger import LedgerEntryOut, LedgerPage
from api.schemas.resellers import (
    BASE_LIMIT_EXAMPLES,
    HOLD_EXAMPLES,
    LIFT_HOLD_EXAMPLES,
    RESELLER_EXAMPLES,
    TERMINATION_EXAMPLES,
    AvailabilityOut,
    BaseLimitIn,
    ReasonIn,
    ResellerIn,
    ResellerOut,
    ResellerPage,
)
from creditlines import clock, ledger, metrics
from creditlines.auth.service import Principal
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.decisions.limit_requests import set_or_request
from creditlines.errors import CreditLinesError, NotFound
from creditlines.money import from_minor, parse_amount, to_minor
from creditlines.tenants import lookup
from creditlines.validation import Instant

router = APIRouter(prefix="/v1/distributors/{distributor_id}", tags=["resellers"])

officer = allow("credit_officer")
officer_or_integration = allow("credit_officer", "integration")


def _reseller_out(summary: ledger.ResellerSummary) -> ResellerOut:
    r, cur, t = summary.reseller, summary.currency, summary.totals
    return ResellerOut(
        distributor_id=r.distributor_id,
        id=r.id,
        name=r.name,
        status=r.status,
        status_reason=r.status_reason,
        currency=cur,
        total_limit=MoneyOut.of(from_minor(t.limit, cur)),
        total_drawn=MoneyOut.of(from_minor(t.drawn, cur)),
        total_available=MoneyOut.of(from_minor(t.available, cur)),
        over_limit=t.over_limit,
        payment_terms_days=r.payment_terms_days,
        overdue=MoneyOut.of(from_minor(summary.overdue_minor, cur)),
        oldest_overdue_days=summary.oldest_overdue_days,
        overdue_stop=r.overdue_stop_since is not None,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def _summary(s: Session, distributor_id: str, reseller_id: str) -> ResellerOut:
    return _reseller_out(ledger.reseller_summary(s, distributor_id=distributor_id, reseller_id=reseller_id))


@router.put("/resellers/{reseller_id}", status_code=201, response_model=ResellerOut)
@retry_transient
def put_reseller(
    body: Annotated[ResellerIn, Body(openapi_examples=RESELLER_EXAMPLES)],
    response: Response,
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
):
    """Create a reseller (201, with a base line of limit 0) or rename it (200); `payment_terms_days`
    sets its own terms (null: the distributor's; left out: unchanged)."""
    terms_days = (
        {"payment_terms_days": body.payment_terms_days} if "payment_terms_days" in body.model_fields_set else {}
    )
    with uow.write() as s:
        _, created = ledger.upsert_reseller(
            s, distributor_id=distributor_id, reseller_id=reseller_id, name=body.name, actor=who.actor, **terms_days
        )
        out = _summary(s, distributor_id, reseller_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.get("/resellers", response_model=ResellerPage)
def list_resellers(
    distributor_id: DistributorId,
    status_: Literal["active", "on_hold", "terminated"] | None = Query(None, alias="status"),
    over_limit: bool | None = None,
    cursor: Cursor = None,
    limit: int = Query(50, ge=1, le=500),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
):
    after = decode_cursor(cursor, "id")
    with uow.replica() as s:
        page = ledger.list_resellers(
            s, distributor_id=distributor_id, after=after, limit=limit + 1, status=status_, over_limit=over_limit
        )
    items = [_reseller_out(x) for x in page[:limit]]
    return ResellerPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(page) > limit else None)


@router.get("/resellers/{reseller_id}", response_model=ResellerOut)
def get_reseller(
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
):
    with uow.read() as s:
        return _summary(s, distributor_id, reseller_id)


@router.put(
    "/resellers/{reseller_id}/base-limit",
    response_model=ResellerOut,
    responses={
        202: {
            "model": LimitRequestOut,
            "description": "A raise above the distributor's "
            "approval_threshold: a pending limit request, nothing changed yet",
        }
    },
)
@retry_transient
def put_base_limit(
    body: Annotated[BaseLimitIn, Body(openapi_examples=BASE_LIMIT_EXAMPLES)],
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
):
    """Set the base limit. "0.00" means no credit; a cut may leave the reseller over limit. A raise
    by more than the approval threshold answers `202` with a pending limit request (SPEC §12)."""
    with uow.write() as s:
        limit = money_in(s, distributor_id, body.limit, allow_zero=True)
        if (
            pending := set_or_request(
                s,
                distributor_id=distributor_id,
                reseller_id=reseller_id,
                limit=limit,
                reason=body.reason,
                actor=who.actor,
                key_id=who.key_id,
            )
        ) is not None:
            return pending_response(s, pending)
        return _summary(s, distributor_id, reseller_id)


@router.post("/resellers/{reseller_id}/hold", response_model=ResellerOut)
@retry_transient
def place_hold(
    body: Annotated[ReasonIn, Body(openapi_examples=HOLD_EXAMPLES)],
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
):
    with uow.write() as s:
        ledger.place_hold(
            s, distributor_id=distributor_id, reseller_id=reseller_id, reason=body.reason, actor=who.actor
        )
        return _summary(s, distributor_id, reseller_id)


@router.delete("/resellers/{reseller_id}/hold", response_model=ResellerOut)
@retry_transient
def lift_hold(
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    body: ReasonIn | None = Body(None, openapi_examples=LIFT_HOLD_EXAMPLES),
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
):
    with uow.write() as s:
        ledger.lift_hold(
            s,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            reason=body.reason if body else "hold lifted",
            actor=who.actor,
        )
        return _summary(s, distributor_id, reseller_id)


@router.post("/resellers/{reseller_id}/termination", response_model=ResellerOut)
@retry_transient
def terminate_reseller(
    body: Annotated[ReasonIn, Body(openapi_examples=TERMINATION_EXAMPLES)],
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
):
    """Terminate (final): programme lines revoked at once, drawings refused, payments accepted."""
    with uow.write() as s:
        ledger.terminate(s, distributor_id=distributor_id, reseller_id=reseller_id, reason=body.reason, actor=who.actor)
        return _summary(s, distributor_id, reseller_id)


@router.get("/resellers/{reseller_id}/availability", response_model=AvailabilityOut)
def get_availability(
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    as_of: Instant | None = Query(
        None, description="ISO 8601 instant with its offset, e.g. 2026-06-30T23:59:00+02:00 (1900 to 2200)"
    ),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
):
    """Lines and totals now; at a past instant from the ledger; at a future one, a projection."""
    with uow.read() as s:
        v = ledger.availability(s, distributor_id=distributor_id, reseller_id=reseller_id, as_of=as_of)
    return render.json_response(render.document(v))


@router.post("/resellers/{reseller_id}/eligibility", response_model=DecisionOut)
async def check_eligibility(
    body: Annotated[EligibilityIn, Body(openapi_examples=ELIGIBILITY_EXAMPLES)],
    request: Request,
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    _: Principal = Depends(officer_or_integration),
):
    """Would this order be accepted now, and from which lines? Posts nothing.

    The hot path: one statement (the reseller and its lines) on the event loop, the pure
    waterfall, and the JSON written directly (see `creditlines.db.hot`)."""
    distributor = await distributor_of(request, distributor_id)
    return await eligibility_answer(request.app.state, distributor, reseller_id, body)


async def eligibility_answer(state: Any, distributor: Any, reseller_id: str, body: EligibilityIn) -> Response:
    """The eligibility check's answer, for this route and the fast lane (`api/fast.py`);
    ``not_found`` for a reseller that does not exist."""
    amount = parse_amount(body.amount.amount, body.amount.currency, expected_currency=distributor.currency)
    day = clock.local_today(distributor.timezone)
    status_, states, stop = await state.hot.reseller_lines(distributor.id, reseller_id, day)
    if status_ is None:
        raise NotFound(f"reseller {reseller_id!r} does not exist at {distributor.id!r}")
    decision = ledger.decide_now(
        distributor, status_, states, amount_minor=to_minor(amount), vendor_id=body.vendor_id, stop=stop, day=day
    )
    return render.json_response(render.decision(decision, distributor.currency))


@router.post(
    "/resellers/{reseller_id}/drawings",
    status_code=201,
    response_model=DrawingOut,
    responses={202: {"model": DrawingOut, "description": "on_refusal hold: a held order (status held)"}},
)
async def post_drawing(
    body: Annotated[DrawingIn, Body(openapi_examples=DRAWING_EXAMPLES)],
    request: Request,
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    who: Principal = Depends(officer_or_integration),
):
    """Post an order (201). The same reference and body again answers 200 with the same drawing.
    With `on_refusal: "hold"`, an order refused for insufficient credit or an account on hold is
    stored as a held order (202) and posted by itself when credit is freed (SPEC §16).

    On PostgreSQL one statement (`creditlines_draw`) from the event loop; on SQLite a write
    transaction in the threadpool (`creditlines.ledger.DrawingDesk`)."""
    try:
        distributor = await distributor_of(request, distributor_id)
        drawing = drawing_request(distributor, reseller_id, body, who.actor)
    except CreditLinesError as exc:
        metrics.DRAWINGS.labels(distributor_id, exc.code).inc()
        raise
    return await drawing_answer(request.app.state, drawing)


def drawing_request(distributor: Any, reseller_id: str, body: DrawingIn, actor: str) -> ledger.DrawingRequest:
    """The drawing asked, checked before anything is read (this route and the fast lane)."""
    amount = parse_amount(body.amount.amount, body.amount.currency, expected_currency=distributor.currency)
    return ledger.DrawingRequest.of(
        distributor,
        reseller_id=reseller_id,
        reference=body.reference,
        amount=amount,
        vendor_id=body.vendor_id,
        actor=actor,
        on_refusal=body.on_refusal,
        invoice_date=body.invoice_date,
        due_on=body.due_on,
    )


async def drawing_answer(state: Any, request: ledger.DrawingRequest) -> Response:
    """Post the drawing and count it (this route and the fast lane): 201 created, 202 held, 200
    replayed; a refusal is counted and raised."""
    distributor_id = request.distributor.id
    try:
        result = await state.drawings.post(request)
        drawing, created = result.accepted()
    except CreditLinesError as exc:
        metrics.DRAWINGS.labels(distributor_id, exc.code).inc()
        raise
    if result.outcome is ledger.DrawOutcome.HELD:
        metrics.DRAWINGS.labels(distributor_id, "held").inc()
        return render.json_response(render.document(drawing), 202)
    metrics.DRAWINGS.labels(distributor_id, "accepted" if created else "replayed").inc()
    return render.json_response(render.document(drawing), 201 if created else 200)


@router.get("/resellers/{reseller_id}/drawings", response_model=DrawingPage)
def list_drawings(
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    status_: Literal["open", "settled", "held", "cancelled", "expired", "written_off"] | None = Query(
        None, alias="status"
    ),
    cursor: Cursor = None,
    limit: int = Query(50, ge=1, le=500),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer_or_integration),
):
    after = decode_cursor(cursor, "reference")
    with uow.replica() as s:
        page = ledger.list_drawings(
            s, distributor_id=distributor_id, reseller_id=reseller_id, after=after, limit=limit + 1, status=status_
        )
    items = page[:limit]
    next_cursor = encode_cursor(items[-1].reference) if len(page) > limit else None
    return render.json_response({"items": render.document(items), "next_cursor": next_cursor})


@router.get("/resellers/{reseller_id}/drawings/{reference}", response_model=DrawingOut)
def get_drawing(
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    reference: ReferencePath,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer_or_integration),
):
    with uow.read() as s:
        drawing = ledger.get_drawing(s, distributor_id=distributor_id, reseller_id=reseller_id, reference=reference)
    return render.json_response(render.document(drawing))


@router.post("/resellers/{reseller_id}/drawings/{reference}/releases", status_code=201, response_model=DrawingOut)
@retry_transient
def post_release(
    body: Annotated[ReleaseIn, Body(openapi_examples=RELEASE_EXAMPLES)],
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    reference: ReferencePath,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer_or_integration),
):
    """A payment, cancellation or credit note (201); answers the drawing after it. Replays answer 200."""
    with uow.write() as s:
        amount = money_in(s, distributor_id, body.amount)
        drawing, created = ledger.release(
            s,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            drawing_reference=reference,
            reference=body.reference,
            amount=amount,
            kind=body.kind,
            actor=who.actor,
        )
    return render.json_response(render.document(drawing), 201 if created else 200)


@router.get("/resellers/{reseller_id}/ledger", response_model=LedgerPage)
def get_ledger(
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=1000),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
):
    """Every entry for this reseller, oldest first."""
    after = decode_cursor(cursor, "seq")
    with uow.replica() as s:
        cur = lookup.require_distributor(s, distributor_id).currency
        entries = ledger.ledger_entries(
            s, distributor_id=distributor_id, reseller_id=reseller_id, after_seq=after, limit=limit + 1
        )

    def money(minor):
        return None if minor is None else MoneyOut.of(from_minor(minor, cur))

    items = [
        LedgerEntryOut(
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            kind=e.kind,
            reason=e.reason,
            line_id=e.line_id,
            drawing_reference=e.drawing_reference,
            release_reference=e.release_reference,
            amount=money(e.amount_minor),
            drawn_delta=money(e.drawn_delta_minor),
            limit_after=money(e.limit_after_minor),
            valid_until_after=e.valid_until_after,
            status_after=e.status_after,
            details=json.loads(e.details) if e.details else None,
        )
        for e in entries[:limit]
    ]
    return LedgerPage(items=items, next_cursor=encode_cursor(items[-1].seq) if len(entries) > limit else None)

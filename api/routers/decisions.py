"""Credit decisions (SPEC §12): credit policy, limit requests, nominations, insurer cover,
the cover-cuts report. Thin: parse, authorise, call `creditlines.decisions`, render."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.deps import (
    Cursor,
    DistributorId,
    ProgrammeIdPath,
    ResellerId,
    VendorId,
    allow,
    decode_cursor,
    encode_cursor,
    get_uow,
    money_in,
)
from api.schemas.common import MoneyOut
from api.schemas.decisions import (
    LIMIT_DECISION_EXAMPLES,
    NOMINATION_DECISION_EXAMPLES,
    CoverCutList,
    CoverCutOut,
    CreditPolicyOut,
    DecisionIn,
    InsuranceOut,
    LimitRequestOut,
    LimitRequestPage,
    NominationOut,
    NominationPage,
    VendorNominationOut,
    VendorNominationPage,
)
from api.schemas.terms import OverdueStopOut
from creditlines import clock
from creditlines.auth.service import Principal
from creditlines.csvdoc import to_csv
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.decisions import insurance, limit_requests, policy, reports
from creditlines.decisions.models import InsuranceCover, LimitRequest, Nomination
from creditlines.ledger import held, terms
from creditlines.programmes import nominations
from creditlines.programmes import service as programmes
from creditlines.tenants import lookup
from creditlines.validation import Identifier

router = APIRouter(tags=["credit decisions"])
officer = allow("credit_officer")
partner = allow("partner_manager")
D = "/v1/distributors/{distributor_id}"
DecisionId = Annotated[Identifier, Path(description="A limit request's or nomination's id")]
CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "JSON, or CSV with `Accept: text/csv`",
    }
}


def _m(minor: int | None, cur: str) -> MoneyOut | None:
    return None if minor is None else MoneyOut.of_minor(minor, cur)


def _cur(s: Session, distributor_id: str) -> str:
    return lookup.require_distributor(s, distributor_id).currency


def policy_out(v: policy.PolicyView, t: terms.TermsPolicy) -> CreditPolicyOut:
    stop = t.overdue_stop
    return CreditPolicyOut(
        distributor_id=v.distributor_id,
        approval_threshold=_m(v.approval_threshold_minor, v.currency),
        base_cap_policy=v.base_cap_policy,
        discretionary=MoneyOut.of_minor(v.discretionary_minor, v.currency),
        indemnity_rate=v.indemnity_rate,
        payment_terms_days=t.payment_terms_days,
        overdue_stop=None
        if stop is None
        else OverdueStopOut(after_days=stop.after_days, min_amount=MoneyOut.of_minor(stop.min_minor, v.currency)),
        updated_at=v.updated_at,
        updated_by=v.updated_by,
    )


def request_out(r: LimitRequest, cur: str, live_minor: int | None) -> LimitRequestOut:
    return LimitRequestOut(
        id=r.id,
        reseller_id=r.reseller_id,
        current=MoneyOut.of_minor(r.current_minor, cur),
        live_limit=_m(live_minor, cur),
        requested=MoneyOut.of_minor(r.requested_minor, cur),
        reason=r.reason,
        requested_by=r.requested_by,
        status=limit_requests.effective_status(r, clock.now()),
        created_at=r.created_at,
        expires_at=r.expires_at,
        decided_at=r.decided_at,
        decided_by=r.decided_by,
        decided_limit=_m(r.decided_limit_minor, cur),
        decision_reason=r.decision_reason,
    )


def pending_response(s: Session, request: LimitRequest) -> JSONResponse:
    """The `202` of a `PUT …/base-limit` that became a limit request."""
    live = limit_requests.live_limits(s, request.distributor_id, [request.reseller_id])
    out = request_out(request, _cur(s, request.distributor_id), live.get(request.reseller_id))
    return JSONResponse(out.model_dump(mode="json"), status_code=202)


def nomination_out(n: Nomination, cur: str) -> NominationOut:
    return NominationOut(
        id=n.id,
        vendor_id=n.vendor_id,
        programme_id=n.programme_id,
        reseller_id=n.reseller_id,
        limit=MoneyOut.of_minor(n.limit_minor, cur),
        status=n.status,
        nominated_by=n.nominated_by,
        created_at=n.created_at,
        decided_at=n.decided_at,
        decided_by=n.decided_by,
        decided_limit=_m(n.decided_limit_minor, cur),
        decision_reason=n.decision_reason,
        refusal_code=n.refusal_code,
        line_id=n.line_id,
    )


def vendor_nomination_out(n: Nomination, cur: str) -> VendorNominationOut:
    return VendorNominationOut(
        id=n.id,
        programme_id=n.programme_id,
        reseller_id=n.reseller_id,
        limit=MoneyOut.of_minor(n.limit_minor, cur),
        status=n.status,
        created_at=n.created_at,
        decided_at=n.decided_at,
        granted_limit=_m(n.decided_limit_minor, cur),
        refusal_code=n.refusal_code,
        line_id=n.line_id,
    )


def cover_out(c: InsuranceCover, cur: str) -> dict[str, object]:
    return dict(
        reseller_id=c.reseller_id,
        insurer=c.insurer,
        cover=MoneyOut.of_minor(c.cover_minor, cur),
        previous_cover=_m(c.previous_cover_minor, cur),
        decided_on=c.decided_on,
        effective_on=policy.effective_day(c),
        reference=c.reference,
        recorded_at=c.recorded_at,
        recorded_by=c.actor,
    )


# ------------------------------------------------------------------------- credit policy


@router.get(D + "/credit-policy", response_model=CreditPolicyOut)
def get_credit_policy(
    distributor_id: DistributorId, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(officer)
) -> CreditPolicyOut:
    with uow.read() as s:
        out = policy_out(policy.get(s, distributor_id), terms.policy_of(s, distributor_id))
        return out.model_copy(update={"hold_days": held.get_hold_days(s, distributor_id)})


# ------------------------------------------------------------------------- limit requests


@router.get(D + "/limit-requests", response_model=LimitRequestPage)
def list_limit_requests(
    distributor_id: DistributorId,
    status_: Literal["pending", "approved", "rejected", "expired", "superseded"] | None = Query(None, alias="status"),
    cursor: Cursor = None,
    limit: int = Query(50, ge=1, le=500),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
) -> LimitRequestPage:
    """Limit requests, oldest first; a pending request past its 14 days shows as `expired`."""
    after = decode_cursor(cursor, "id")
    with uow.read() as s:
        cur = _cur(s, distributor_id)
        rows = limit_requests.list_requests(
            s, distributor_id=distributor_id, status=status_, after=after, limit=limit + 1
        )
        live = limit_requests.live_limits(s, distributor_id, [r.reseller_id for r in rows[:limit]])
    items = [request_out(r, cur, live.get(r.reseller_id)) for r in rows[:limit]]
    return LimitRequestPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


@router.get(D + "/limit-requests/{request_id}", response_model=LimitRequestOut)
def get_limit_request(
    distributor_id: DistributorId,
    request_id: DecisionId,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
) -> LimitRequestOut:
    with uow.read() as s:
        request = limit_requests.get(s, distributor_id=distributor_id, request_id=request_id)
        live = limit_requests.live_limits(s, distributor_id, [request.reseller_id])
        return request_out(request, _cur(s, distributor_id), live.get(request.reseller_id))


@router.post(D + "/limit-requests/{request_id}/decision", response_model=LimitRequestOut)
@retry_transient
def decide_limit_request(
    body: Annotated[DecisionIn, Body(openapi_examples=LIMIT_DECISION_EXAMPLES)],
    distributor_id: DistributorId,
    request_id: DecisionId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
) -> LimitRequestOut:
    """Approve (for less with `limit`) or reject, by another officer key than the requester's
    (`403 same_approver`); once only (`409 already_decided`); within 14 days (`409 request_expired`);
    approved only while `current` is still the live base limit (`409 limit_changed`)."""
    if body.refusal_code is not None:
        from creditlines.errors import ValidationFailed

        raise ValidationFailed("refusal_code applies to nominations only")
    with uow.write() as s:
        request = limit_requests.decide(
            s,
            distributor_id=distributor_id,
            request_id=request_id,
            decision=body.decision,
            limit=money_in(s, distributor_id, body.limit, allow_zero=True),
            reason=body.reason,
            actor=who.actor,
            key_id=who.key_id,
        )
        live = limit_requests.live_limits(s, distributor_id, [request.reseller_id])
        return request_out(request, _cur(s, distributor_id), live.get(request.reseller_id))


# ------------------------------------------------------------------------- nominations


@router.get(D + "/nominations", response_model=NominationPage)
def list_nominations(
    distributor_id: DistributorId,
    status_: Literal["pending", "approved", "rejected"] | None = Query(None, alias="status"),
    cursor: Cursor = None,
    limit: int = Query(50, ge=1, le=500),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
) -> NominationPage:
    """Vendors' nominations of resellers, oldest first."""
    after = decode_cursor(cursor, "id")
    with uow.read() as s:
        cur = _cur(s, distributor_id)
        rows = nominations.list_for_distributor(
            s, distributor_id=distributor_id, status=status_, after=after, limit=limit + 1
        )
    items = [nomination_out(n, cur) for n in rows[:limit]]
    return NominationPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


@router.post(D + "/nominations/{nomination_id}/decision", response_model=NominationOut)
@retry_transient
def decide_nomination(
    body: Annotated[DecisionIn, Body(openapi_examples=NOMINATION_DECISION_EXAMPLES)],
    distributor_id: DistributorId,
    nomination_id: DecisionId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
) -> NominationOut:
    """Approve (grants the line now, every grant rule checked at this moment; for less with
    `limit`) or reject (the vendor sees `refusal_code`, never `reason`)."""
    with uow.write() as s:
        nomination = nominations.decide(
            s,
            distributor_id=distributor_id,
            nomination_id=nomination_id,
            decision=body.decision,
            limit=money_in(s, distributor_id, body.limit),
            reason=body.reason,
            actor=who.actor,
            refusal_code=body.refusal_code,
        )
        return nomination_out(nomination, _cur(s, distributor_id))


@router.get("/v1/vendors/{vendor_id}/programmes/{programme_id}/nominations", response_model=VendorNominationPage)
def list_programme_nominations(
    vendor_id: VendorId,
    programme_id: ProgrammeIdPath,
    status_: Literal["pending", "approved", "rejected"] | None = Query(None, alias="status"),
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=1000),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(partner),
) -> VendorNominationPage:
    """The vendor's nominations in this programme and their status; a refusal shows only its code."""
    after = decode_cursor(cursor, "id")
    with uow.replica() as s:
        programme = programmes.get_programme(s, vendor_id=vendor_id, programme_id=programme_id)
        cur = _cur(s, programme.distributor_id)
        rows = nominations.list_for_programme(s, programme, status=status_, after=after, limit=limit + 1)
    items = [vendor_nomination_out(n, cur) for n in rows[:limit]]
    return VendorNominationPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


# ------------------------------------------------------------------------- insurer cover


@router.get(D + "/resellers/{reseller_id}/insurance", response_model=list[InsuranceOut])
def get_insurance_history(
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
) -> list[InsuranceOut]:
    """Every cover decision recorded for the reseller, oldest first (the last one is current)."""
    with uow.read() as s:
        cur = _cur(s, distributor_id)
        return [
            InsuranceOut(**cover_out(c, cur))
            for c in insurance.history(s, distributor_id=distributor_id, reseller_id=reseller_id)
        ]


@router.get(D + "/reports/cover-cuts", response_model=CoverCutList, responses=CSV_DOC)
def report_cover_cuts(
    request: Request,
    distributor_id: DistributorId,
    since: date = Query(description="Cuts decided on or after this local date"),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
) -> Response | CoverCutList:
    """Resellers whose insurer cover was cut since `since`: cover before and after, base limit,
    drawn, vendor lines — the list to share when a vendor asks whom to help."""
    from creditlines.validation import day as check_day

    check_day(since, "since")
    with uow.snapshot(replica=True) as s:
        rows = list(reports.cover_cuts(s, distributor_id=distributor_id, since=since))
    if "text/csv" in request.headers.get("accept", ""):
        return Response(to_csv(rows, reports.COVER_CUT_FIELDS), media_type="text/csv")

    def m(value: str, cur: str) -> MoneyOut:
        return MoneyOut(amount=value, currency=cur)

    return CoverCutList(
        items=[
            CoverCutOut(
                **{
                    **asdict(r),
                    **{
                        k: m(getattr(r, k), r.currency)
                        for k in ("cover_before", "cover_after", "base_limit", "total_drawn", "vendor_lines_limit")
                    },
                    "vendor_funders": r.vendor_funders.split() if r.vendor_funders else [],
                }
            )
            for r in rows
        ]
    )

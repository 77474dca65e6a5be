"""Vendor programmes (partner managers) and purchase events (ERP integrations)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status
from sqlalchemy.orm import Session

from api.deps import (
    Cursor,
    DistributorId,
    ProgrammeIdPath,
    VendorId,
    allow,
    decode_cursor,
    encode_cursor,
    get_uow,
    money_in,
)
from api.schemas.common import MoneyOut
from api.schemas.programmes import (
    ENROLMENT_EXAMPLES,
    PROGRAMME_EXAMPLES,
    PROGRAMME_PATCH_EXAMPLES,
    PURCHASE_EVENT_EXAMPLES,
    BudgetLeftOut,
    BudgetOut,
    EnrolmentIn,
    EnrolmentOut,
    EnrolmentResultOut,
    ProgrammeIn,
    ProgrammeLineOut,
    ProgrammeLinePage,
    ProgrammeOut,
    ProgrammePatch,
    PurchaseEventIn,
    PurchaseEventOut,
    TriggerOut,
)
from creditlines.auth.service import Principal
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.ledger.models import Line
from creditlines.partnerships import service as partnerships
from creditlines.programmes import enrolment, purchases, service
from creditlines.programmes.models import Programme
from creditlines.tenants import lookup

router = APIRouter(tags=["programmes"])
partner = allow("partner_manager")
integration = allow("integration")


def line_out(line: Line, currency: str) -> ProgrammeLineOut:
    return ProgrammeLineOut(
        id=line.id,
        reseller_id=line.reseller_id,
        programme_id=line.programme_id,
        vendor_id=line.vendor_id,
        funder=line.funder,
        limit=MoneyOut.of_minor(line.limit_minor, currency),
        drawn=MoneyOut.of_minor(line.drawn_minor, currency),
        valid_from=line.valid_from,
        valid_until=line.valid_until,
        status=line.status,
        usable_for=line.usable_for,
        on_expiry=line.on_expiry,
    )


def programme_out(session: Session, programme: Programme) -> ProgrammeOut:
    v = service.view(session, programme)
    cur = v.currency

    def m(minor):
        return None if minor is None else MoneyOut.of_minor(minor, cur)

    has_budget = programme.max_beneficiaries is not None or programme.max_total_limit_minor is not None
    return ProgrammeOut(
        id=programme.id,
        code=programme.code,
        vendor_id=programme.vendor_id,
        distributor_id=programme.distributor_id,
        name=programme.name,
        kind=programme.kind,
        status=programme.status,
        line_limit=m(programme.line_limit_minor),
        starts_on=programme.starts_on,
        ends_on=programme.ends_on,
        usable_for=programme.usable_for,
        on_expiry=programme.on_expiry,
        budget=BudgetOut(
            max_beneficiaries=programme.max_beneficiaries, max_total_limit=m(programme.max_total_limit_minor)
        )
        if has_budget
        else None,
        trigger=TriggerOut(product_category=programme.trigger_category, min_amount=m(programme.trigger_min_minor))
        if programme.kind == "purchase_triggered"
        else None,
        line_duration_months=programme.line_duration_months,
        beneficiaries=v.beneficiaries,
        total_limit=MoneyOut.of(v.total_limit),
        total_drawn=MoneyOut.of(v.total_drawn),
        budget_left=BudgetLeftOut(
            beneficiaries=v.beneficiaries_left,
            total_limit=MoneyOut.of(v.total_limit_left) if v.total_limit_left is not None else None,
        )
        if has_budget
        else None,
        created_at=programme.created_at,
        updated_at=programme.updated_at,
        closed_at=programme.closed_at,
    )


@router.post("/v1/vendors/{vendor_id}/programmes", status_code=201, response_model=ProgrammeOut)
@retry_transient
def create_programme(
    body: Annotated[ProgrammeIn, Body(openapi_examples=PROGRAMME_EXAMPLES)],
    response: Response,
    vendor_id: VendorId,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(partner),
):
    """Create a programme at one distributor; its id is `<code>@<distributor_id>`."""
    with uow.write() as s:
        d = body.distributor_id
        # Before anything is read about the distributor (its currency, its existence).
        partnerships.require_admitted(s, distributor_id=d, vendor_id=vendor_id, lock=False, allow_ended=True)
        programme, created = service.create_programme(
            s,
            vendor_id=vendor_id,
            distributor_id=d,
            code=body.code,
            name=body.name,
            kind=body.kind,
            line_limit=money_in(s, d, body.line_limit),
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            usable_for=body.usable_for,
            on_expiry=body.on_expiry,
            max_beneficiaries=body.budget.max_beneficiaries if body.budget else None,
            max_total_limit=money_in(s, d, body.budget.max_total_limit, allow_zero=True) if body.budget else None,
            trigger_category=body.trigger.product_category if body.trigger else None,
            trigger_min_amount=money_in(s, d, body.trigger.min_amount) if body.trigger else None,
            line_duration_months=body.line_duration_months,
        )
        out = programme_out(s, programme)
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.get("/v1/vendors/{vendor_id}/programmes", response_model=list[ProgrammeOut])
def list_programmes(vendor_id: VendorId, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(partner)):
    with uow.replica() as s:
        return [programme_out(s, p) for p in service.list_programmes(s, vendor_id=vendor_id)]


@router.get("/v1/vendors/{vendor_id}/programmes/{programme_id}", response_model=ProgrammeOut)
def get_programme(
    vendor_id: VendorId,
    programme_id: ProgrammeIdPath,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(partner),
):
    """The programme with its utilisation: beneficiaries, total limit, total drawn, budget left."""
    with uow.replica() as s:
        return programme_out(s, service.get_programme(s, vendor_id=vendor_id, programme_id=programme_id))


@router.patch("/v1/vendors/{vendor_id}/programmes/{programme_id}", response_model=ProgrammeOut)
@retry_transient
def patch_programme(
    body: Annotated[ProgrammePatch, Body(openapi_examples=PROGRAMME_PATCH_EXAMPLES)],
    vendor_id: VendorId,
    programme_id: ProgrammeIdPath,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(partner),
):
    """Rename, move `ends_on` (a standing programme's active lines follow), change the budget, or close."""
    with uow.write() as s:
        programme = service.get_programme(s, vendor_id=vendor_id, programme_id=programme_id)
        kwargs: dict[str, Any] = {}  # the budget fields the PATCH sets (absent: left as they are)
        if "budget" in body.model_fields_set:
            budget = body.budget
            kwargs["max_beneficiaries"] = budget.max_beneficiaries if budget else None
            kwargs["max_total_limit"] = (
                money_in(s, programme.distributor_id, budget.max_total_limit, allow_zero=True) if budget else None
            )
        programme = service.update_programme(
            s,
            vendor_id=vendor_id,
            programme_id=programme_id,
            actor=who.actor,
            name=body.name,
            ends_on=body.ends_on,
            status=body.status,
            **kwargs,
        )
        return programme_out(s, programme)


@router.post("/v1/vendors/{vendor_id}/programmes/{programme_id}/enrolments", response_model=EnrolmentOut)
@retry_transient
def enrol_resellers(
    body: Annotated[EnrolmentIn, Body(openapi_examples=ENROLMENT_EXAMPLES)],
    vendor_id: VendorId,
    programme_id: ProgrammeIdPath,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(partner),
):
    """Enrol resellers in a standing programme: an outcome per reseller."""
    with uow.write() as s:
        programme = service.get_programme(s, vendor_id=vendor_id, programme_id=programme_id)
        cur = lookup.require_distributor(s, programme.distributor_id).currency
        results = enrolment.enrol(
            s,
            vendor_id=vendor_id,
            programme_id=programme_id,
            actor=who.actor,
            resellers=[
                (item.reseller_id, money_in(s, programme.distributor_id, item.limit)) for item in body.resellers
            ],
        )
        return EnrolmentOut(
            results=[
                EnrolmentResultOut(
                    reseller_id=r.subject,
                    outcome=r.outcome,
                    reason=r.reason,
                    nomination_id=r.nomination_id,
                    line=line_out(r.line, cur) if r.line is not None else None,
                )
                for r in results
            ]
        )


@router.get("/v1/vendors/{vendor_id}/programmes/{programme_id}/lines", response_model=ProgrammeLinePage)
def list_programme_lines(
    vendor_id: VendorId,
    programme_id: ProgrammeIdPath,
    status_: str | None = Query(None, alias="status", pattern="^(active|expired|revoked)$"),
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=1000),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(partner),
):
    """The programme's lines: reseller, limit, drawn, dates, status. Never a base line."""
    after = decode_cursor(cursor, "id_pair")
    with uow.replica() as s:
        programme = service.get_programme(s, vendor_id=vendor_id, programme_id=programme_id)
        cur = lookup.require_distributor(s, programme.distributor_id).currency
        lines = service.programme_lines(
            s, programme, after=tuple(after) if after else None, limit=limit + 1, status=status_
        )
    items = [line_out(line, cur) for line in lines[:limit]]
    return ProgrammeLinePage(
        items=items, next_cursor=encode_cursor([items[-1].reseller_id, items[-1].id]) if len(lines) > limit else None
    )


@router.post("/v1/distributors/{distributor_id}/purchase-events", status_code=201, response_model=PurchaseEventOut)
@retry_transient
def post_purchase_event(
    body: Annotated[PurchaseEventIn, Body(openapi_examples=PURCHASE_EVENT_EXAMPLES)],
    response: Response,
    distributor_id: DistributorId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(integration),
):
    """A customer purchase: a result per programme of that vendor here. Re-deliveries answer 200, unchanged."""
    with uow.write() as s:
        answer, created = purchases.record_purchase(
            s,
            distributor_id=distributor_id,
            event_id=body.event_id,
            reseller_id=body.reseller_id,
            vendor_id=body.vendor_id,
            product_category=body.product_category,
            amount=money_in(s, distributor_id, body.amount),
            occurred_at=body.occurred_at,
            actor=who.actor,
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return PurchaseEventOut(event_id=answer.event_id, results=answer.results)

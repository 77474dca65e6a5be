"""Financed orders (SPEC §17): a financing for one order, and whether financiers keep their hours."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi.responses import Response as RawResponse

from api import render
from api.deps import DistributorId, ResellerId, allow, get_uow, money_in
from api.schemas.common import MoneyOut
from api.schemas.held import FINANCING_EXAMPLES, FinancierReportOut, FinancingIn, FinancingOut, FinancingReportOut
from creditlines.auth.service import Principal
from creditlines.csvdoc import to_csv
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.decisions import policy
from creditlines.errors import Forbidden
from creditlines.jobs import financing_report
from creditlines.ledger import financing
from creditlines.money import to_minor
from creditlines.validation import Day

router = APIRouter(prefix="/v1/distributors/{distributor_id}", tags=["financed orders"])


@router.post("/resellers/{reseller_id}/financings", status_code=201, response_model=FinancingOut)
@retry_transient
def create_financing(
    body: Annotated[FinancingIn, Body(openapi_examples=FINANCING_EXAMPLES)],
    response: Response,
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(allow("credit_officer", "integration")),
):
    """The end customer took the vendor's financing: a line of kind `financing` for the order
    `order_reference` only, first in its waterfall; the financier pays within `pay_within_hours`
    of the drawing, or the rest moves to the base line. 201; the same body again 200.

    A late financier's debt lands on the base line, so a financing is credit the distributor may
    end up carrying: above the distributor's approval threshold it needs a credit officer's key
    (the ERP's integration key: `403 forbidden`)."""
    with uow.write() as s:
        amount = money_in(s, distributor_id, body.amount)
        if who.role == "integration":
            threshold = policy.approval_threshold(s, distributor_id)
            if threshold is not None and to_minor(amount) > threshold:
                raise Forbidden("a financing above the approval threshold needs a credit officer's key, not the ERP's")
        view, created = financing.create_financing(
            s,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            reference=body.reference,
            financier=body.financier,
            amount=amount,
            order_reference=body.order_reference,
            pay_within_hours=body.pay_within_hours,
            actor=who.actor,
        )
    return render.json_response(render.document(view), 201 if created else status.HTTP_200_OK)


@router.get(
    "/reports/financings",
    response_model=FinancingReportOut,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV"}},
)
def report_financings(
    request: Request,
    distributor_id: DistributorId,
    since: Annotated[Day, Query(description="The distributor's local date from which financings are counted")],
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(allow("credit_officer")),
):
    """Per financier: financed (count, amount), paid within the promised hours (count, share), the
    median hours to pay, and what is overdue now."""
    with uow.snapshot() as s:
        rows = financing_report.financings_report(s, distributor_id=distributor_id, since=since)
    if "text/csv" in request.headers.get("accept", ""):
        return RawResponse(to_csv(rows, financing_report.FIELDS), media_type="text/csv")
    return FinancingReportOut(
        since=since,
        items=[
            FinancierReportOut(
                financier=r.financier,
                financed_count=r.financed_count,
                financed_amount=MoneyOut(amount=r.financed_amount, currency=r.currency),
                paid_on_time_count=r.paid_on_time_count,
                paid_on_time_share=r.paid_on_time_share,
                median_hours_to_pay=r.median_hours_to_pay,
                overdue_count=r.overdue_count,
                overdue_now=MoneyOut(amount=r.overdue_now, currency=r.currency),
            )
            for r in rows
        ],
    )

"""The ageing report (SPEC §18): a distributor's officers, and a partner manager's view of its own lines."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from api import render
from api.deps import DistributorId, VendorId, allow, get_uow
from api.routers.jobs import CSV_DOC
from api.schemas.terms import AgeingReportOut
from creditlines.auth.service import Principal
from creditlines.db.engine import UnitOfWork
from creditlines.ledger import ageing
from creditlines.partnerships import service as partnerships
from creditlines.validation import Day, TenantId

router = APIRouter(tags=["jobs and reports"])
officer = allow("credit_officer")
partner = allow("partner_manager")

AS_OF = Query(None, description="A local date (default today): buckets by days overdue at the end of that day")


def _answer(request: Request, report: ageing.AgeingReport) -> Response:
    if "text/csv" in request.headers.get("accept", ""):
        return Response(ageing.ageing_csv(report), media_type="text/csv")
    return render.json_response(ageing.document(report))


@router.get(
    "/v1/distributors/{distributor_id}/reports/ageing",
    response_model=AgeingReportOut,
    response_model_by_alias=True,
    responses=CSV_DOC,
)
def report_ageing(
    request: Request,
    distributor_id: DistributorId,
    as_of: Day | None = AS_OF,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
):
    """Outstanding per reseller and per funder in buckets `not_due`, `1_30`, `31_60`, `61_90`,
    `over_90`, with totals; a past `as_of` from the ledger as it stood. JSON, or CSV with `Accept: text/csv`."""
    with uow.snapshot() as s:
        report = ageing.ageing(s, distributor_id=distributor_id, as_of=as_of)
    return _answer(request, report)


@router.get(
    "/v1/vendors/{vendor_id}/reports/ageing",
    response_model=AgeingReportOut,
    response_model_by_alias=True,
    responses=CSV_DOC,
)
def report_vendor_ageing(
    request: Request,
    vendor_id: VendorId,
    distributor_id: TenantId = Query(..., description="A distributor where the vendor is admitted"),
    as_of: Day | None = AS_OF,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(partner),
):
    """The vendor's own lines at one distributor (never the base lines' money): the overdue money
    that sits on its programmes, per reseller, with totals."""
    with uow.snapshot() as s:
        partnerships.require_admitted(
            s, distributor_id=distributor_id, vendor_id=vendor_id, lock=False, allow_ended=True
        )
        report = ageing.ageing(s, distributor_id=distributor_id, as_of=as_of, vendor_id=vendor_id)
    return _answer(request, report)

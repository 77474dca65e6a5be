"""The expiry job (admin) and the credit officer's listings."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import DistributorId, allow, get_uow
from api.schemas.common import MoneyOut, Strict, example
from creditlines.auth.service import Principal
from creditlines.csvdoc import to_csv
from creditlines.db.engine import UnitOfWork
from creditlines.errors import ValidationFailed
from creditlines.jobs import expiry, listings
from creditlines.validation import Day

router = APIRouter(tags=["jobs and reports"])


class ExpiryIn(Strict):
    as_of: Day | None = None


EXPIRY_EXAMPLES = {
    "today": example("Expire what ended before today (the body is optional)", {}, role="admin"),
    "as_of": example("As of a given day", {"as_of": "2026-03-01"}, role="admin"),
}


class DistributorExpiryOut(BaseModel):
    distributor_id: str
    as_of: date
    lines_expired: int
    amount_transferred: MoneyOut
    resellers_over_limit: int


class ExpiryOut(BaseModel):
    lines_expired: int
    by_distributor: list[DistributorExpiryOut]


class ExpiringOut(BaseModel):
    reseller_id: str
    reseller_name: str
    line_id: str
    programme_id: str | None
    funder: str
    limit: MoneyOut
    drawn: MoneyOut
    valid_until: date
    on_expiry: str | None


class OverLimitOut(BaseModel):
    reseller_id: str
    reseller_name: str
    status: str
    total_limit: MoneyOut
    total_drawn: MoneyOut
    over_limit_by: MoneyOut


class ExpiringList(BaseModel):
    items: list[ExpiringOut]
    next_cursor: str | None = None


class OverLimitList(BaseModel):
    items: list[OverLimitOut]
    next_cursor: str | None = None


def expiry_out(reports: list[expiry.DistributorExpiry]) -> ExpiryOut:
    return ExpiryOut(
        lines_expired=sum(r.lines_expired for r in reports),
        by_distributor=[
            DistributorExpiryOut(
                distributor_id=r.distributor_id,
                as_of=r.as_of,
                lines_expired=r.lines_expired,
                amount_transferred=MoneyOut.of_minor(r.minor_transferred, r.currency),
                resellers_over_limit=r.resellers_over_limit,
            )
            for r in reports
        ],
    )


@router.post("/v1/jobs/expiry", response_model=ExpiryOut)
def run_expiry(
    body: ExpiryIn | None = Body(None, openapi_examples=EXPIRY_EXAMPLES),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(allow()),
):
    """Run the nightly expiry now (the same code as `creditlines expire`). `as_of` replays a missed night."""
    try:
        reports = expiry.run_expiry(uow, as_of=body.as_of if body else None)
    except expiry.FutureAsOf as exc:
        raise ValidationFailed(str(exc)) from None
    return expiry_out(reports)


def _wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "JSON, or CSV with `Accept: text/csv`",
    }
}


@router.get("/v1/distributors/{distributor_id}/reports/expiring", response_model=ExpiringList, responses=CSV_DOC)
def report_expiring(
    request: Request,
    distributor_id: DistributorId,
    within_days: int = Query(30, ge=0, le=3660),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(allow("credit_officer")),
):
    """Vendor lines ending within `within_days`: what to tell resellers before their line ends."""
    with uow.snapshot(replica=True) as s:
        rows = list(listings.expiring(s, distributor_id=distributor_id, within_days=within_days))
    if _wants_csv(request):
        return Response(to_csv(rows, listings.EXPIRING_FIELDS), media_type="text/csv")

    def m(value, cur):
        return MoneyOut(amount=value, currency=cur)

    return ExpiringList(
        items=[
            ExpiringOut(**{**asdict(r), "limit": m(r.limit, r.currency), "drawn": m(r.drawn, r.currency)}) for r in rows
        ]
    )


@router.get("/v1/distributors/{distributor_id}/reports/over-limit", response_model=OverLimitList, responses=CSV_DOC)
def report_over_limit(
    request: Request,
    distributor_id: DistributorId,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(allow("credit_officer")),
):
    """Resellers whose drawn amount exceeds their current lines, largest excess first."""
    with uow.snapshot(replica=True) as s:
        rows = list(listings.over_limit(s, distributor_id=distributor_id))
    if _wants_csv(request):
        return Response(to_csv(rows, listings.OVER_LIMIT_FIELDS), media_type="text/csv")
    return OverLimitList(
        items=[
            OverLimitOut(
                reseller_id=r.reseller_id,
                reseller_name=r.reseller_name,
                status=r.status,
                total_limit=MoneyOut(amount=r.total_limit, currency=r.currency),
                total_drawn=MoneyOut(amount=r.total_drawn, currency=r.currency),
                over_limit_by=MoneyOut(amount=r.over_limit_by, currency=r.currency),
            )
            for r in rows
        ]
    )

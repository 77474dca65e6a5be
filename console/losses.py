"""Who bears the loss in the console (SPEC §20, §21): a reseller's default, write-offs and
claims on its page; the claims of a distributor (officer); a vendor's own claims and its
monthly statements to download (partner manager). Reads only: decisions go through the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.deps import DistributorId, VendorId
from console import library as lib
from console.web import Viewer, render, viewer

router = APIRouter()
SHOWN = 500
MONTHS = 6
Period = Path(pattern=r"^[0-9]{4}-[0-9]{2}$")


def reseller_losses(s: Session, distributor_id: str, reseller_id: str) -> dict[str, Any]:
    """The reseller page's default, write-offs (their parts and claims), for the officer."""
    default = lib.default_of(s, distributor_id=distributor_id, reseller_id=reseller_id)
    write_offs = lib.write_offs_of(s, distributor_id=distributor_id, reseller_id=reseller_id) if default else []
    return dict(in_default=default, write_offs=write_offs)


@router.get("/distributors/{distributor_id}/claims", response_class=HTMLResponse)
def distributor_claims(
    request: Request,
    distributor_id: DistributorId,
    status: str | None = Query(None, pattern="^(open|paid|rejected)$"),
    who: Viewer = Depends(viewer),
) -> Response:
    lib.authorise(who.principal, roles=("credit_officer",), distributor_id=distributor_id)
    with request.app.state.uow.read() as s:
        distributor = lib.require_distributor(s, distributor_id)
        rows = lib.claims_of_distributor(s, distributor_id=distributor_id, status=status, limit=SHOWN + 1)
    totals: dict[str, int] = {}
    for c in rows[:SHOWN]:
        totals[c.status] = totals.get(c.status, 0) + c.amount_minor
    return render(
        request,
        who,
        "claims.html",
        distributor=distributor,
        claims=rows[:SHOWN],
        truncated=len(rows) > SHOWN,
        status=status or "",
        totals=totals,
        vendor_id=None,
        statements=[],
    )


def _months(last: str, n: int) -> list[str]:
    year, month = int(last[:4]), int(last[5:])
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


@router.get("/vendors/{vendor_id}/claims", response_class=HTMLResponse)
def vendor_claims(request: Request, vendor_id: VendorId, who: Viewer = Depends(viewer)) -> Response:
    """The vendor's own claims at every distributor, and its statements to download."""
    lib.authorise(who.principal, roles=("partner_manager",), vendor_id=vendor_id)
    with request.app.state.uow.read() as s:
        rows = lib.claims_of_vendor(s, vendor_id=vendor_id, limit=SHOWN + 1)
        currencies = {c.distributor_id: lib.require_distributor(s, c.distributor_id).currency for c in rows}
        statements = []
        for p in lib.partnerships_of_vendor(s, vendor_id=vendor_id, after=None, limit=100):
            distributor = lib.require_distributor(s, p.distributor_id)
            statements.append((distributor, _months(lib.last_closed_period(s, p.distributor_id), MONTHS)))
    return render(
        request,
        who,
        "claims.html",
        distributor=None,
        claims=rows[:SHOWN],
        truncated=len(rows) > SHOWN,
        status="",
        totals={},
        currencies=currencies,
        vendor_id=vendor_id,
        statements=statements,
    )


@router.get("/vendors/{vendor_id}/statements/{distributor_id}/{period}.{ext}")
def vendor_statement(
    request: Request,
    vendor_id: VendorId,
    distributor_id: DistributorId,
    period: str = Period,
    ext: str = Path(pattern="^(json|csv)$"),
    who: Viewer = Depends(viewer),
) -> Response:
    """The vendor's statement at a distributor, as the API serves it (JSON bytes, or CSV)."""
    lib.authorise(who.principal, roles=("partner_manager",), vendor_id=vendor_id)
    with request.app.state.uow.write() as s:
        chain = lib.funder_statements(s, distributor_id=distributor_id, funder=vendor_id, through=period)
        lib.record_statements(s, chain)
    document = chain[-1]
    body: bytes | str = lib.canonical_statement(document) if ext == "json" else lib.statement_csv(document)
    return Response(
        body,
        media_type="application/json" if ext == "json" else "text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{vendor_id}-{distributor_id}-{period}.{ext}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Creditlines-Statement-Digest": document["digest"],
        },
    )

"""Who bears the loss (SPEC §20, §21): default, write-offs, claims, settlement, funder statements.
Thin: parse, authorise, call `creditlines.losses`, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.deps import (
    Cursor,
    DistributorId,
    ResellerId,
    VendorId,
    allow,
    decode_cursor,
    encode_cursor,
    get_uow,
    money_in,
)
from api.schemas.common import MoneyOut
from api.schemas.losses import (
    DEFAULT_EXAMPLES,
    SETTLEMENT_EXAMPLES,
    WRITE_OFF_EXAMPLES,
    ClaimOut,
    ClaimPage,
    ClaimStatus,
    DefaultIn,
    DefaultOut,
    FunderLossOut,
    SettlementIn,
    WriteOffIn,
    WriteOffOut,
    WriteOffPartOut,
)
from creditlines import validation
from creditlines.auth.service import Principal
from creditlines.csvdoc import to_csv
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.decisions.policy import percent_str
from creditlines.errors import Forbidden, NotFound, VendorNotAdmitted
from creditlines.losses import claims, defaults, statement_chain, statements, writeoffs
from creditlines.losses.models import Claim, ResellerDefault
from creditlines.partnerships import service as partnerships
from creditlines.tenants import lookup
from creditlines.validation import Identifier

router = APIRouter(tags=["losses"])
officer = allow("credit_officer")
partner = allow("partner_manager")
officer_or_partner = allow("credit_officer", "partner_manager")
D = "/v1/distributors/{distributor_id}"
ClaimId = Annotated[Identifier, Path(description="A claim's id")]
FunderId = Annotated[Identifier, Path(description="The distributor itself (base lines), a vendor or a financier")]
Period = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}$", description="A month, YYYY-MM")]
STATEMENT_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}},
        "description": "The statement as canonical JSON (sorted keys, no spaces, UTF-8), or CSV with "
        "`Accept: text/csv`; `Creditlines-Statement-Digest` carries its digest either way",
    }
}


def _cur(s: Session, distributor_id: str) -> str:
    return lookup.require_distributor(s, distributor_id).currency


def _m(minor: int | None, cur: str) -> MoneyOut | None:
    return None if minor is None else MoneyOut.of_minor(minor, cur)


def default_out(row: ResellerDefault) -> DefaultOut:
    return DefaultOut(
        reseller_id=row.reseller_id,
        status="terminated",
        reason=row.reason,
        declared_on=row.declared_on,
        declared_at=row.declared_at,
        declared_by=row.declared_by,
    )


def claim_out(c: Claim, cur: str) -> ClaimOut:
    return ClaimOut(
        id=c.id,
        distributor_id=c.distributor_id,
        reseller_id=c.reseller_id,
        funder_kind=c.funder_kind,
        funder=c.funder,
        amount=MoneyOut.of_minor(c.amount_minor, cur),
        written_off=MoneyOut.of_minor(c.written_off_minor, cur),
        status=c.status,
        write_off_reference=c.write_off_reference,
        created_at=c.created_at,
        settled_at=c.settled_at,
        amount_paid=_m(c.amount_paid_minor, cur),
        indemnity_rate=None if c.indemnity_rate_bp is None else percent_str(c.indemnity_rate_bp),
        settlement_reference=c.settlement_reference,
    )


def write_off_out(v: writeoffs.WriteOffView, cur: str) -> WriteOffOut:
    by_funder: dict[tuple[str, str], int] = {}
    for p in v.parts:
        by_funder[(p.funder_kind, p.funder)] = by_funder.get((p.funder_kind, p.funder), 0) + p.amount_minor
    return WriteOffOut(
        reference=v.write_off.reference,
        reseller_id=v.write_off.reseller_id,
        reason=v.write_off.reason,
        written_off=MoneyOut.of_minor(v.write_off.amount_minor, cur),
        by_funder=[
            FunderLossOut(funder_kind=k, funder=f, written_off=MoneyOut.of_minor(a, cur))
            for (k, f), a in sorted(by_funder.items())
        ],
        parts=[
            WriteOffPartOut(
                drawing_reference=p.drawing_reference,
                invoice_date=p.invoice_date,
                line_id=p.line_id,
                funder_kind=p.funder_kind,
                funder=p.funder,
                written_off=MoneyOut.of_minor(p.amount_minor, cur),
                insured=MoneyOut.of_minor(p.insured_minor, cur),
                insurer=p.insurer,
            )
            for p in v.parts
        ],
        claims=[claim_out(c, cur) for c in v.claims],
        own_loss=MoneyOut.of_minor(v.own_loss_minor, cur),
        created_at=v.write_off.created_at,
        created_by=v.write_off.created_by,
    )


# ------------------------------------------------------------------------- default


@router.post(D + "/resellers/{reseller_id}/default", response_model=DefaultOut, status_code=201)
@retry_transient
def declare_default(
    body: Annotated[DefaultIn, Body(openapi_examples=DEFAULT_EXAMPLES)],
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
):
    """Declare the reseller in default: terminated if it is not already, and marked `in_default`
    (event `reseller.defaulted`). `201`; the same declaration again `200`; another
    `409 already_in_default`."""
    with uow.write() as s:
        outcome = defaults.declare(
            s,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            reason=body.reason,
            declared_on=body.declared_on,
            actor=who.actor,
        )
        out = default_out(outcome.default)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if outcome.changed else 200)


@router.get(D + "/resellers/{reseller_id}/default", response_model=DefaultOut)
def get_default(
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
):
    """The reseller's default (`404` when it is not in default)."""
    with uow.read() as s:
        row = defaults.get(s, distributor_id=distributor_id, reseller_id=reseller_id)
        if row is None:
            raise NotFound(f"reseller {reseller_id!r} is not in default")
        return default_out(row)


# ------------------------------------------------------------------------- write-offs


@router.post(D + "/resellers/{reseller_id}/write-offs", response_model=WriteOffOut, status_code=201)
@retry_transient
def write_off(
    body: Annotated[WriteOffIn, Body(openapi_examples=WRITE_OFF_EXAMPLES)],
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
):
    """Write off what a reseller in default still owes (`409 not_in_default` otherwise): every
    allocation outstanding (on the drawings named, default all), per line and funder, with the
    claims it opens on vendors, financiers and insurers. `201`; same body again `200`; another
    body `409 idempotency_conflict`."""
    with uow.write() as s:
        view, created = writeoffs.write_off(
            s,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            reference=body.reference,
            reason=body.reason,
            drawings=body.drawings,
            actor=who.actor,
        )
        out = write_off_out(view, _cur(s, distributor_id))
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.get(D + "/resellers/{reseller_id}/write-offs", response_model=list[WriteOffOut])
def list_write_offs(
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
):
    with uow.read() as s:
        cur = _cur(s, distributor_id)
        return [
            write_off_out(v, cur)
            for v in writeoffs.list_write_offs(s, distributor_id=distributor_id, reseller_id=reseller_id)
        ]


# ------------------------------------------------------------------------- claims


@router.get(D + "/claims", response_model=ClaimPage)
def list_claims(
    distributor_id: DistributorId,
    status_: ClaimStatus | None = Query(None, alias="status"),
    funder: str | None = Query(None, max_length=200, description="A vendor, a financier or an insurer's name"),
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=500),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
):
    """The distributor's claims, oldest first, by `status` and `funder`."""
    after = decode_cursor(cursor, "id")
    if funder is not None:
        funder = validation.text(funder, "funder", max_length=200)
    with uow.read() as s:
        cur = _cur(s, distributor_id)
        rows = claims.list_claims(
            s, distributor_id=distributor_id, status=status_, funder=funder, after_id=after, limit=limit + 1
        )
        items = [claim_out(c, cur) for c in rows[:limit]]
    return ClaimPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


@router.get("/v1/vendors/{vendor_id}/claims", response_model=ClaimPage)
def list_vendor_claims(
    vendor_id: VendorId,
    status_: ClaimStatus | None = Query(None, alias="status"),
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=500),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(partner),
):
    """The vendor's own claims, at every distributor (and nothing else)."""
    after = decode_cursor(cursor, "id_pair")
    with uow.read() as s:
        rows = claims.vendor_claims(
            s, vendor_id=vendor_id, status=status_, after=tuple(after) if after else None, limit=limit + 1
        )
        items = [claim_out(c, _cur(s, c.distributor_id)) for c in rows[:limit]]
    cursor_out = None
    if len(rows) > limit and items:
        cursor_out = encode_cursor([items[-1].distributor_id, items[-1].id])
    return ClaimPage(items=items, next_cursor=cursor_out)


@router.post(D + "/claims/{claim_id}/settlement", response_model=ClaimOut)
@retry_transient
def settle_claim(
    body: Annotated[SettlementIn, Body(openapi_examples=SETTLEMENT_EXAMPLES)],
    distributor_id: DistributorId,
    claim_id: ClaimId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
):
    """Record the funder's answer: `paid` (`amount_paid` ≤ amount, default all) or `rejected`.
    Once: `409 already_settled` after."""
    with uow.write() as s:
        claim = claims.settle(
            s,
            distributor_id=distributor_id,
            claim_id=claim_id,
            status=body.status,
            amount_paid=money_in(s, distributor_id, body.amount_paid),
            reference=body.reference,
            actor=who.actor,
        )
        return claim_out(claim, _cur(s, distributor_id))


# ------------------------------------------------------------------------- statements


@router.get(D + "/funders/{funder}/statements/{period}", responses=STATEMENT_DOC)
@retry_transient
def get_funder_statement(
    request: Request,
    distributor_id: DistributorId,
    funder: FunderId,
    period: Period,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer_or_partner),
):
    """A funder's statement for a month that has ended (`409 period_not_closed` before): per
    reseller, opening drawn, drawn, released, transferred, written off, closing drawn; lines
    granted, extended, expired, revoked; claims opened; totals; `previous_digest` and `digest`
    (hex SHA-256 of the canonical JSON without `digest`). Byte-identical when asked again.
    Officers of the distributor; a vendor's partner manager for its own statements."""
    if who.role == "partner_manager" and who.vendor_id != funder:
        raise Forbidden(f"this key is bound to vendor {who.vendor_id!r}")
    with uow.write() as s:
        lookup.require_distributor(s, distributor_id)
        if who.role == "partner_manager":
            try:  # a distributor that never admitted the vendor reveals nothing (as SPEC §11)
                partnerships.get(s, distributor_id=distributor_id, vendor_id=funder)
            except NotFound:
                raise VendorNotAdmitted(f"{distributor_id!r} has not admitted vendor {funder!r}") from None
        chain = statements.statements(s, distributor_id=distributor_id, funder=funder, through=period)
        if who.role == "partner_manager" and chain[-1]["funder_kind"] != "vendor":
            raise Forbidden("a partner manager sees only its vendor's statements")
        statement_chain.record(s, chain)
    document = chain[-1]
    headers = {"Creditlines-Statement-Digest": document["digest"]}
    if "text/csv" in request.headers.get("accept", ""):
        body = to_csv(statements.csv_rows(document), statements.STATEMENT_FIELDS)
        return Response(body, media_type="text/csv", headers=headers)
    return Response(statements.canonical(document), media_type="application/json", headers=headers)

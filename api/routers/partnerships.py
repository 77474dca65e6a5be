"""Partnerships (SPEC §11): which vendors a distributor admits, on which terms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response, status
from sqlalchemy.orm import Session

from api.deps import Cursor, DistributorId, VendorId, allow, decode_cursor, encode_cursor, get_uow, money_in
from api.schemas.common import MoneyOut
from api.schemas.partnerships import (
    PARTNERSHIP_EXAMPLES,
    PartnershipEntryOut,
    PartnershipIn,
    PartnershipOut,
    PartnershipPage,
)
from creditlines.auth.service import Principal
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.money import from_minor
from creditlines.partnerships import repository as partnership_repo
from creditlines.partnerships import service
from creditlines.partnerships.models import Partnership, PartnershipEntry
from creditlines.tenants import lookup

router = APIRouter(prefix="/v1", tags=["partnerships"])
officer = allow("credit_officer")
partner = allow("partner_manager")


def _money(session: Session, distributor_id: str, minor: int | None) -> MoneyOut | None:
    if minor is None:
        return None
    info = lookup.get_distributor(session, distributor_id)
    assert info is not None
    return MoneyOut.of_minor(minor, info.currency)


def partnership_out(session: Session, p: Partnership) -> PartnershipOut:
    return PartnershipOut(
        distributor_id=p.distributor_id,
        vendor_id=p.vendor_id,
        status=p.status,
        max_line_limit=_money(session, p.distributor_id, p.max_line_limit_minor),
        requires_approval=p.requires_approval,
        note=p.note,
        created_at=p.created_at,
        updated_at=p.updated_at,
        ended_at=p.ended_at,
    )


def entry_out(session: Session, e: PartnershipEntry) -> PartnershipEntryOut:
    return PartnershipEntryOut(
        seq=e.seq,
        at=e.at,
        actor=e.actor,
        kind=e.kind,
        status_after=e.status_after,
        max_line_limit_after=_money(session, e.distributor_id, e.max_line_limit_after_minor),
        requires_approval_after=e.requires_approval_after,
        note_after=e.note_after,
    )


@router.put("/distributors/{distributor_id}/vendors/{vendor_id}", status_code=201, response_model=PartnershipOut)
@retry_transient
def admit_vendor(
    body: Annotated[PartnershipIn, Body(openapi_examples=PARTNERSHIP_EXAMPLES)],
    response: Response,
    distributor_id: DistributorId,
    vendor_id: VendorId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
):
    """Admit a vendor (201), or set its terms / re-admit it after an end (200). From then on its
    partner managers may run programmes here, with lines no larger than `max_line_limit`. On an
    existing partnership a field left out keeps its value (a note changed alone never drops the
    approval of enrolments or the cap)."""
    given = body.model_fields_set
    with uow.write() as s:
        existing = partnership_repo.get(s, distributor_id, vendor_id, lock="update")
        cap = money_in(s, distributor_id, body.max_line_limit, allow_zero=True)
        if existing is not None and "max_line_limit" not in given and existing.max_line_limit_minor is not None:
            cap = from_minor(existing.max_line_limit_minor, lookup.require_distributor(s, distributor_id).currency)
        partnership, created = service.admit(
            s,
            distributor_id=distributor_id,
            vendor_id=vendor_id,
            max_line_limit=cap,
            requires_approval=(
                existing.requires_approval
                if existing is not None and "requires_approval" not in given
                else body.requires_approval
            ),
            note=existing.note if existing is not None and "note" not in given else body.note,
            actor=who.actor,
        )
        out = partnership_out(s, partnership)
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.delete("/distributors/{distributor_id}/vendors/{vendor_id}", response_model=PartnershipOut)
@retry_transient
def end_partnership(
    distributor_id: DistributorId,
    vendor_id: VendorId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
):
    """End the partnership: no new programme, enrolment or grant (`409 partnership_ended`); lines
    already granted run to their `valid_until`. Answers the ended partnership."""
    with uow.write() as s:
        return partnership_out(s, service.end(s, distributor_id=distributor_id, vendor_id=vendor_id, actor=who.actor))


@router.get("/distributors/{distributor_id}/vendors", response_model=PartnershipPage)
def list_distributor_partnerships(
    distributor_id: DistributorId,
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=500),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
):
    """The vendors this distributor admitted (active and ended), by vendor id."""
    after = decode_cursor(cursor, "id")
    with uow.replica() as s:
        rows = service.list_for_distributor(s, distributor_id=distributor_id, after=after, limit=limit + 1)
        items = [partnership_out(s, p) for p in rows[:limit]]
    return PartnershipPage(items=items, next_cursor=encode_cursor(items[-1].vendor_id) if len(rows) > limit else None)


@router.get("/distributors/{distributor_id}/vendors/{vendor_id}", response_model=PartnershipOut)
def get_partnership(
    distributor_id: DistributorId,
    vendor_id: VendorId,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
):
    with uow.read() as s:
        return partnership_out(s, service.get(s, distributor_id=distributor_id, vendor_id=vendor_id))


@router.get("/distributors/{distributor_id}/vendors/{vendor_id}/history", response_model=list[PartnershipEntryOut])
def get_partnership_history(
    distributor_id: DistributorId,
    vendor_id: VendorId,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
):
    """Every change of the partnership, oldest first, with its actor."""
    with uow.read() as s:
        return [entry_out(s, e) for e in service.history(s, distributor_id=distributor_id, vendor_id=vendor_id)]


@router.get("/vendors/{vendor_id}/distributors", response_model=PartnershipPage)
def list_vendor_partnerships(
    vendor_id: VendorId,
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=500),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(partner),
):
    """The distributors where this vendor is (or was) admitted, with the terms it must respect."""
    after = decode_cursor(cursor, "id")
    with uow.replica() as s:
        rows = service.list_for_vendor(s, vendor_id=vendor_id, after=after, limit=limit + 1)
        items = [partnership_out(s, p) for p in rows[:limit]]
    return PartnershipPage(
        items=items, next_cursor=encode_cursor(items[-1].distributor_id) if len(rows) > limit else None
    )

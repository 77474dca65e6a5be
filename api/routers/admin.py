"""Tenants and keys (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response, status

from api.deps import KeyIdPath, allow, get_uow
from api.schemas.admin import (
    API_KEY_EXAMPLES,
    DISTRIBUTOR_EXAMPLES,
    VENDOR_EXAMPLES,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    DistributorIn,
    DistributorOut,
    VendorIn,
    VendorOut,
)
from creditlines.auth import service as auth
from creditlines.auth.service import Principal
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.tenants import service as tenants

router = APIRouter(prefix="/v1", tags=["admin"])
admin_only = allow()  # no role but admin


@router.post("/distributors", status_code=201, response_model=DistributorOut)
@retry_transient
def create_distributor(
    body: Annotated[DistributorIn, Body(openapi_examples=DISTRIBUTOR_EXAMPLES)],
    response: Response,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(admin_only),
):
    """Create a distributor (a tenant). The same body again answers 200 with it."""
    with uow.write() as s:
        row, created = tenants.create_distributor(
            s, id=body.id, name=body.name, currency=body.currency, timezone=body.timezone
        )
        out = DistributorOut.model_validate(row, from_attributes=True)
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.post("/vendors", status_code=201, response_model=VendorOut)
@retry_transient
def create_vendor(
    body: Annotated[VendorIn, Body(openapi_examples=VENDOR_EXAMPLES)],
    response: Response,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(admin_only),
):
    with uow.write() as s:
        row, created = tenants.create_vendor(s, id=body.id, name=body.name)
        out = VendorOut.model_validate(row, from_attributes=True)
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated)
@retry_transient
def create_api_key(
    body: Annotated[ApiKeyIn, Body(openapi_examples=API_KEY_EXAMPLES)],
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(admin_only),
):
    """Create a key bound to a role (and a distributor or vendor). The key is shown once."""
    with uow.write() as s:
        row, key = auth.create_key(
            s, role=body.role, distributor_id=body.distributor_id, vendor_id=body.vendor_id, label=body.label
        )
        return ApiKeyCreated(key=key, **ApiKeyOut.model_validate(row, from_attributes=True).model_dump())


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(admin_only)):
    with uow.read() as s:
        return [ApiKeyOut.model_validate(row, from_attributes=True) for row in auth.list_keys(s)]


@router.delete("/api-keys/{key_id}", status_code=204)
@retry_transient
def revoke_api_key(
    request: Request, key_id: KeyIdPath, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(admin_only)
):
    """Revoke a key: refused (401) at once by this worker, within `CREDITLINES_KEY_CACHE_SECONDS` (5 s) by all."""
    with uow.write() as s:
        auth.revoke_key(s, key_id=key_id)
    request.app.state.key_cache.forget_key(key_id)
    return Response(status_code=204)

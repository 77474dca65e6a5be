"""Dependencies: the unit of work, the caller's key, and the scope check done first."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from creditlines.auth.service import Principal, authenticate, authorise
from creditlines.config import get_settings
from creditlines.db.engine import UnitOfWork
from creditlines.errors import ValidationFailed

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cl_…`")


def get_uow(request: Request) -> UnitOfWork:
    return request.app.state.uow


def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    uow: UnitOfWork = request.app.state.uow
    token = credentials.credentials if credentials else None
    with uow.read() as session:
        return authenticate(session, token, bootstrap_admin_key=get_settings().admin_key)


def allow(*roles: str):
    """Only ``roles`` (and admin), inside the key's distributor or vendor, before any work."""

    def dependency(request: Request, principal: Principal = Depends(current_principal)) -> Principal:
        authorise(principal, roles=roles, distributor_id=request.path_params.get("distributor_id"),
                  vendor_id=request.path_params.get("vendor_id"))
        return principal

    return dependency


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": value}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: type) -> Any:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["k"]
    except Exception:  # noqa: BLE001 - any malformed cursor is the caller's error
        raise ValidationFailed("cursor is not one this API returned") from None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValidationFailed("cursor is not one this API returned")
    return value

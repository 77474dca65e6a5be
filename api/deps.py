"""Dependencies: the unit of work, the caller's key, and the scope check done first."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from creditlines.auth.service import Principal, authenticate, authorise
from creditlines.config import get_settings
from creditlines.db.engine import UnitOfWork
from creditlines.errors import ValidationFailed

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cl_…`")


async def get_uow(request: Request) -> UnitOfWork:
    return request.app.state.uow


class KeyCache:
    """Verified keys, trusted for ``key_cache_seconds`` (a database read saved per request).
    A revocation through this process drops the entry at once; elsewhere it takes effect within
    the TTL. Keyed by a hash of the full key, never the key itself."""

    def __init__(self, ttl: int, max_entries: int = 10_000) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, digest: str) -> Principal | None:
        hit = self._entries.get(digest)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def put(self, digest: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[digest] = (principal, time.monotonic() + self.ttl)

    def forget_key(self, key_id: str) -> None:
        for digest, (principal, _) in list(self._entries.items()):
            if principal.key_id == key_id:
                self._entries.pop(digest, None)


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    """Async so that a cached key costs no thread hop; a miss reads the database in the threadpool."""
    token = credentials.credentials if credentials else None
    cache: KeyCache = request.app.state.key_cache
    digest = hashlib.sha256(token.encode()).hexdigest() if token else ""
    if token and (principal := cache.get(digest)) is not None:
        return principal
    principal = await run_in_threadpool(_authenticate, request.app.state.uow, token)
    cache.put(digest, principal)
    return principal


def _authenticate(uow: UnitOfWork, token: str | None) -> Principal:
    with uow.read() as session:
        return authenticate(session, token, bootstrap_admin_key=get_settings().admin_key)


def allow(*roles: str):
    """Only ``roles`` (and admin), inside the key's distributor or vendor, before any work."""

    async def dependency(request: Request, principal: Principal = Depends(current_principal)) -> Principal:
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


async def distributor_of(request: Request, distributor_id: str):
    """The distributor (currency, time zone) from the per-process cache; a miss reads it once."""
    uow: UnitOfWork = request.app.state.uow
    info = uow.distributors.get(distributor_id)
    if info is None:
        from creditlines.ledger import service as ledger

        def load():
            with uow.read() as session:
                return ledger.require_distributor(session, distributor_id)

        info = await run_in_threadpool(load)
    return info


def money_in(session, distributor_id: str, value, *, allow_zero: bool = False):
    """A request's {amount, currency} as Money in the distributor's currency, exact or refused."""
    from creditlines.ledger import service as ledger
    from creditlines.money import parse_amount

    if value is None:
        return None
    distributor = ledger.require_distributor(session, distributor_id)
    return parse_amount(value.amount, value.currency, expected_currency=distributor.currency, allow_zero=allow_zero)

"""Dependencies: the unit of work, the caller's key, and the scope check done first."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from typing import Annotated, Any

from cachetools import TTLCache
from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.models import Example
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.schemas.common import DEMO_DISTRIBUTOR, DEMO_DRAWING, DEMO_PROGRAMME, DEMO_RESELLER, DEMO_VENDOR
from creditlines import validation
from creditlines.auth.service import Principal, authenticate, authorise
from creditlines.config import get_settings
from creditlines.db.engine import UnitOfWork
from creditlines.errors import ValidationFailed
from creditlines.tenants import lookup
from creditlines.validation import Identifier, KeyId, PathReference, ProgrammeId, TenantId


# Path parameters: one type per kind of id (SPEC §15), the same rules as the bodies; their
# examples are the demo's (`creditlines demo`), as are the bodies' (api/schemas/common.py).
def _demo(value: str, summary: str) -> dict[str, Example]:
    return {"demo": {"summary": summary, "value": value}}


DistributorId = Annotated[
    TenantId, Path(description="A distributor id", openapi_examples=_demo(DEMO_DISTRIBUTOR, "Actebis, in the demo"))
]
VendorId = Annotated[
    Identifier, Path(description="A vendor id", openapi_examples=_demo(DEMO_VENDOR, "Microsoft, in the demo"))
]
ResellerId = Annotated[
    Identifier,
    Path(
        description="A reseller id (the distributor's customer number)",
        openapi_examples=_demo(DEMO_RESELLER, "A reseller of Actebis, in the demo"),
    ),
]
ProgrammeIdPath = Annotated[
    ProgrammeId,
    Path(description="`<code>@<distributor_id>`", openapi_examples=_demo(DEMO_PROGRAMME, "Mezzanine at Actebis")),
]
KeyIdPath = Annotated[KeyId, Path(description="An API key's id")]
ReferencePath = Annotated[
    PathReference,
    Path(
        description="A drawing's reference, percent-encoded: `FA/2026/0042` is `FA%2F2026%2F0042`, `#` is `%23`",
        openapi_examples=_demo(DEMO_DRAWING, "The drawing of post_drawing's example"),
    ),
]

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cl_…`")


async def get_uow(request: Request) -> UnitOfWork:
    uow: UnitOfWork = request.app.state.uow
    return uow


class KeyCache:
    """Verified keys, trusted for ``key_cache_seconds`` (a database read saved per request).
    A revocation through this process drops the entry at once; elsewhere it takes effect within
    the TTL. Keyed by a hash of the full key, never the key itself. At most ``max_entries`` keys
    (the least recently used goes first); a TTL of 0 or less caches nothing."""

    def __init__(self, ttl: int, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()  # get/put on the event loop, forget_key from the threadpool
        self.ttl = ttl

    @property
    def ttl(self) -> int:
        return self._ttl

    @ttl.setter
    def ttl(self, seconds: int) -> None:
        """A new TTL starts from an empty cache."""
        with self._lock:
            self._ttl = seconds
            self._entries: TTLCache[str, Principal] = TTLCache(maxsize=self.max_entries, ttl=max(seconds, 0))

    @staticmethod
    def digest(token: str) -> str:
        """The cache's key for an API key: its SHA-256, never the key itself."""
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, digest: str) -> Principal | None:
        with self._lock:
            return self._entries.get(digest)

    def put(self, digest: str, principal: Principal) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            self._entries[digest] = principal

    def forget_key(self, key_id: str) -> None:
        with self._lock:
            for digest, principal in list(self._entries.items()):
                if principal.key_id == key_id:
                    self._entries.pop(digest, None)


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    """Async so that a cached key costs no thread hop; a miss reads the database in the threadpool."""
    token = credentials.credentials if credentials else None
    cache: KeyCache = request.app.state.key_cache
    digest = KeyCache.digest(token) if token else ""
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
        authorise(
            principal,
            roles=roles,
            distributor_id=request.path_params.get("distributor_id"),
            vendor_id=request.path_params.get("vendor_id"),
        )
        return principal

    return dependency


_CURSOR_RE = re.compile(r"[A-Za-z0-9_-]{1,500}")
_MAX_SEQ = 2**63 - 1
# What each listing's cursor holds; anything else was not written by this API.
CURSOR_KINDS = {
    "id": validation.is_identifier,
    "reference": validation.is_reference,
    "seq": lambda v: type(v) is int and 0 <= v <= _MAX_SEQ,
    "id_pair": lambda v: type(v) is list and len(v) == 2 and all(map(validation.is_identifier, v)),
    "event": lambda v: type(v) is list and len(v) == 2 and all(type(x) is int and 0 <= x <= _MAX_SEQ for x in v),
    # held orders: [held_at in microseconds since 1970 (UTC), reseller id, reference]
    "held": lambda v: (
        type(v) is list
        and len(v) == 3
        and type(v[0]) is int
        and 0 <= v[0] <= 7_258_118_400_000_000  # 2200-01-01 in microseconds, the instants' bound
        and validation.is_identifier(v[1])
        and validation.is_reference(v[2])
    ),
}
Cursor = Annotated[
    str | None,
    Query(
        max_length=500, pattern=r"^[A-Za-z0-9_-]+$", description="`next_cursor` of the previous page, as it was given"
    ),
]


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": value}, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> Any:
    """An opaque cursor back to its key, strictly: base64url of ``{"k": <key>}`` whose key has the
    listing's type and alphabet (``CURSOR_KINDS``). Anything else is a 422, never a query."""
    if not cursor:
        return None
    if _CURSOR_RE.fullmatch(cursor) is None:
        raise ValidationFailed("cursor is not one this API returned")
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # bad base64, not UTF-8, not JSON, too deep
        raise ValidationFailed("cursor is not one this API returned") from None
    if type(document) is not dict or document.keys() != {"k"} or not CURSOR_KINDS[kind](document["k"]):
        raise ValidationFailed("cursor is not one this API returned")
    return document["k"]


async def distributor_of(request: Request, distributor_id: str):
    """The distributor (currency, time zone) from the per-process cache; a miss reads it once."""
    uow: UnitOfWork = request.app.state.uow
    info = uow.distributors.get(distributor_id)
    if info is None:

        def load():
            with uow.read() as session:
                return lookup.require_distributor(session, distributor_id)

        info = await run_in_threadpool(load)
    return info


def money_in(session, distributor_id: str, value, *, allow_zero: bool = False):
    """A request's {amount, currency} as Money in the distributor's currency, exact or refused."""
    from creditlines.money import parse_amount

    if value is None:
        return None
    distributor = lookup.require_distributor(session, distributor_id)
    return parse_amount(value.amount, value.currency, expected_currency=distributor.currency, allow_zero=allow_zero)

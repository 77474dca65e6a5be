"""API keys and what each role may do.

A key reads ``cl_<id>_<secret>``. Only SHA-256 of the secret is stored: the secret is 256
random bits, so there is no dictionary to attack and a slow hash would only slow every
request. The bootstrap admin key (``CREDITLINES_ADMIN_KEY``) is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.auth.models import ROLES, ApiKey
from creditlines.config import MIN_ADMIN_KEY_LENGTH
from creditlines.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from creditlines.tenants import lookup

BOOTSTRAP_ADMIN_ID = "bootstrap-admin"


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    distributor_id: str | None = None
    vendor_id: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.key_id}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    *,
    role: str,
    distributor_id: str | None = None,
    vendor_id: str | None = None,
    label: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the full key, which is never shown again."""
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}")
    if role in ("credit_officer", "integration"):
        if not distributor_id or vendor_id:
            raise ValidationFailed(f"a {role} key is bound to one distributor_id (and no vendor_id)")
        if lookup.get_distributor(session, distributor_id) is None:
            raise NotFound(f"distributor {distributor_id!r} does not exist")
    elif role == "partner_manager":
        if not vendor_id or distributor_id:
            raise ValidationFailed("a partner_manager key is bound to one vendor_id (and no distributor_id)")
        if lookup.get_vendor(session, vendor_id) is None:
            raise NotFound(f"vendor {vendor_id!r} does not exist")
    elif distributor_id or vendor_id:
        raise ValidationFailed("an admin key is bound to no distributor or vendor")
    if label:
        validation.text(label, "label", max_length=validation.LABEL_MAX)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        id=key_id,
        secret_hash=_hash(secret),
        role=role,
        distributor_id=distributor_id,
        vendor_id=vendor_id,
        label=label,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row, f"cl_{key_id}_{secret}"


def revoke_key(session: Session, *, key_id: str) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"api key {key_id!r} does not exist")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        session.flush()
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def authenticate(session: Session, token: str | None, *, bootstrap_admin_key: str | None) -> Principal:
    if not token:
        raise Unauthenticated("an API key is required: Authorization: Bearer <key>")
    if (
        bootstrap_admin_key
        and len(bootstrap_admin_key) >= MIN_ADMIN_KEY_LENGTH  # a short one is never accepted (SPEC §23)
        and hmac.compare_digest(token.encode(), bootstrap_admin_key.encode())
    ):
        return Principal(key_id=BOOTSTRAP_ADMIN_ID, role="admin")
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cl" or not validation.is_key_id(parts[1]) or not parts[2] or len(token) > 200:
        raise Unauthenticated("unknown or revoked API key")
    row = session.get(ApiKey, parts[1])
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_hash, _hash(parts[2])):
        raise Unauthenticated("unknown or revoked API key")
    return Principal(key_id=row.id, role=row.role, distributor_id=row.distributor_id, vendor_id=row.vendor_id)


def authorise(
    principal: Principal, *, roles: tuple[str, ...], distributor_id: str | None = None, vendor_id: str | None = None
) -> None:
    """Admin may do everything; other roles only what ``roles`` lists, inside their scope."""
    if principal.role == "admin":
        return
    if principal.role not in roles:
        raise Forbidden(f"a {principal.role} key may not do this")
    if (
        distributor_id is not None
        and principal.role in ("credit_officer", "integration")
        and principal.distributor_id != distributor_id
    ):
        raise Forbidden(f"this key is bound to distributor {principal.distributor_id!r}")
    if vendor_id is not None and principal.role == "partner_manager" and principal.vendor_id != vendor_id:
        raise Forbidden(f"this key is bound to vendor {principal.vendor_id!r}")

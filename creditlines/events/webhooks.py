"""Webhook endpoints (SPEC §13): subscribe, read, delete, and the deliveries log.

A subscription is scoped like the key that makes it: an admin may subscribe to one
distributor or one vendor; a credit officer to its distributor; a partner manager
to its vendor, and only to the event types of a vendor's feed. A new endpoint receives the
events committed after it was created. The secret signs every delivery; it is shown once, at
creation or rotation (:func:`rotate`), and kept — encrypted when ``CREDITLINES_SECRET_KEY`` is
set (:mod:`creditlines.events.signing`) — but never shown again. A URL whose host is, or resolves
to, an address inside the service's own networks is refused (:mod:`creditlines.events.destinations`).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.auth.service import Principal
from creditlines.config import Settings, get_settings
from creditlines.errors import Forbidden, NotFound, ValidationFailed
from creditlines.events import destinations, feed, signing
from creditlines.events.models import Webhook, WebhookAttempt
from creditlines.events.types import ALL_TYPES, PARTNER_TYPES
from creditlines.tenants import lookup

MAX_URL = 2000


def check_types(types: Sequence[str], *, partner: bool) -> list[str]:
    """Event types named by a subscription or a feed query: known ones (and a vendor's only)."""
    if not types or len(types) > len(ALL_TYPES):
        raise ValidationFailed(f"types must list 1 to {len(ALL_TYPES)} event types")
    allowed = PARTNER_TYPES if partner else ALL_TYPES
    for t in types:
        if t not in allowed:
            raise ValidationFailed(
                f"unknown event type {str(t)[:100]!r}"
                if t not in ALL_TYPES
                else f"{t} is not an event of a vendor's feed"
            )
    return sorted(set(types))


def check_url(url: str) -> str:
    if not isinstance(url, str) or len(url) > MAX_URL or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise ValidationFailed(f"url must be an http(s) URL of at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:  # a malformed IPv6 host, a port out of range
        ok = False
    if not ok:
        raise ValidationFailed("url must be an http(s) URL with a host")
    return url


def _scope_for(who: Principal, distributor_id: str | None, vendor_id: str | None) -> tuple[str | None, str | None]:
    if distributor_id is not None and vendor_id is not None:
        raise ValidationFailed("give distributor_id or vendor_id, not both")
    for value, field in ((distributor_id, "distributor_id"), (vendor_id, "vendor_id")):
        if value is not None:
            validation.identifier(value, field)
    if who.role == "admin":
        if distributor_id is None and vendor_id is None:  # every feed is read by its scope's index
            raise ValidationFailed("an admin's webhook names its distributor_id or vendor_id")
        return distributor_id, vendor_id
    if who.role == "credit_officer" and vendor_id is None and distributor_id in (None, who.distributor_id):
        return who.distributor_id, None
    if who.role == "partner_manager" and distributor_id is None and vendor_id in (None, who.vendor_id):
        return None, who.vendor_id
    raise Forbidden("a webhook may be subscribed only within the key's own distributor or vendor")


def create(
    session: Session,
    who: Principal,
    *,
    url: str,
    types: Sequence[str],
    distributor_id: str | None = None,
    vendor_id: str | None = None,
    settings: Settings | None = None,
) -> tuple[Webhook, str]:
    """A new endpoint and its secret (returned once)."""
    settings = settings or get_settings()
    d, v = _scope_for(who, distributor_id, vendor_id)
    kinds = check_types(types, partner=v is not None)
    check_url(url)
    destinations.check_subscription(url, settings.allow_networks)
    if d is not None and lookup.get_distributor(session, d) is None:
        raise NotFound(f"distributor {d!r} does not exist")
    if v is not None and lookup.get_vendor(session, v) is None:
        raise NotFound(f"vendor {v!r} does not exist")
    now = clock.now()
    txid, event_id = feed.current_position(session)
    secret = new_secret()
    hook = Webhook(
        id="wh_" + uuid.uuid4().hex,
        url=url,
        types=json.dumps(kinds),
        distributor_id=d,
        vendor_id=v,
        secret=signing.seal(secret, settings.secret_key),
        status="active",
        created_at=now,
        created_by=who.actor,
        deleted=False,
        cursor_txid=txid,
        cursor_id=event_id,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(hook)
    session.flush()
    return hook, secret


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def rotate(session: Session, who: Principal, webhook_id: str, settings: Settings | None = None) -> tuple[Webhook, str]:
    """A new secret (returned once); the one it replaces still signs for 24 h, beside it. A second
    rotation within the 24 h drops the oldest: only the two newest secrets ever sign."""
    settings = settings or get_settings()
    hook = get(session, who, webhook_id, for_update=True)
    now = clock.now()
    secret = new_secret()
    # The previous secret re-sealed with today's key (a plain one gets encrypted once a key is set).
    previous = signing.unseal(hook.secret, settings.secret_key)
    hook.previous_secret = signing.seal(previous, settings.secret_key)
    hook.previous_secret_until = now + signing.ROTATION_OVERLAP
    hook.secret = signing.seal(secret, settings.secret_key)
    session.flush()
    return hook, secret


def get(session: Session, who: Principal, webhook_id: str, *, for_update: bool = False) -> Webhook:
    """An endpoint the key may see: an admin any; others only within their scope (else 404)."""
    if not validation.is_identifier(webhook_id):
        raise NotFound("no such webhook")
    hook = session.get(Webhook, webhook_id, with_for_update=for_update or None)
    if hook is None or hook.deleted or not _visible(who, hook):
        raise NotFound("no such webhook")
    return hook


def _visible(who: Principal, hook: Webhook) -> bool:
    if who.role == "admin":
        return True
    if who.role == "credit_officer":
        return hook.distributor_id is not None and hook.distributor_id == who.distributor_id
    if who.role == "partner_manager":
        return hook.vendor_id is not None and hook.vendor_id == who.vendor_id
    return False


def delete(session: Session, who: Principal, webhook_id: str) -> Webhook:
    """Stop deliveries at once. The row stays (the deliveries log refers to it), marked deleted."""
    hook = get(session, who, webhook_id)
    hook.deleted = True
    hook.status = "disabled"
    hook.disabled_at = clock.now()
    session.flush()
    return hook


def deliveries(
    session: Session, who: Principal, webhook_id: str, *, before: int | None, limit: int
) -> list[WebhookAttempt]:
    """The deliveries log, newest first."""
    get(session, who, webhook_id)
    stmt = select(WebhookAttempt).where(WebhookAttempt.webhook_id == webhook_id)
    if before is not None:
        stmt = stmt.where(WebhookAttempt.id < before)
    return list(session.scalars(stmt.order_by(WebhookAttempt.id.desc()).limit(limit)))


def listing(session: Session, who: Principal) -> list[Webhook]:
    stmt = select(Webhook).where(Webhook.deleted.is_(False)).order_by(Webhook.created_at, Webhook.id)
    return [h for h in session.scalars(stmt) if _visible(who, h)]


def result_of(attempt: WebhookAttempt) -> str:
    """An attempt's coarse outcome; rows logged before ``result`` existed (free-text ``error``)
    are classified from their status code, else as a timeout or a failed connection."""
    if attempt.result:
        return attempt.result
    if attempt.status_code is not None:
        return f"http_{attempt.status_code}"
    return "timeout" if attempt.error == "timeout" else "connection_failed"

"""Events (SPEC §13): the feeds of a distributor and of a vendor, and webhook subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from api import render
from api.deps import Cursor, DistributorId, VendorId, allow, current_principal, decode_cursor, encode_cursor, get_uow
from api.schemas import Id
from creditlines.auth.service import Principal
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.errors import Forbidden, NotFound
from creditlines.events import feed, webhooks
from creditlines.events.models import Webhook, WebhookAttempt
from creditlines.tenants import lookup

router = APIRouter(prefix="/v1", tags=["events"])
officer_or_integration = allow("credit_officer", "integration")
partner = allow("partner_manager")

TypesQuery = Annotated[
    str | None,
    Query(
        max_length=2000, pattern=r"^[a-z_.,]+$", description="Comma-separated event types (default: all of the feed's)"
    ),
]
Limit = Annotated[int, Query(ge=1, le=500)]


class FeedPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = Field(description="Give it as `after` to read on; present even on an empty page")


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[StrictStr, Field(min_length=1, max_length=webhooks.MAX_URL, examples=["https://erp.example/hooks"])]
    types: Annotated[list[Annotated[StrictStr, Field(max_length=64)]], Field(min_length=1, max_length=64)]
    distributor_id: Id | None = None
    vendor_id: Id | None = None


class WebhookOut(BaseModel):
    id: str
    url: str
    types: list[str]
    distributor_id: str | None
    vendor_id: str | None
    status: Literal["active", "disabled"]
    created_at: datetime
    disabled_at: datetime | None
    failing_since: datetime | None
    attempts: int
    secret: str | None = Field(None, description="Only in the answer to the creation, never again")


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    attempt: int
    at: datetime
    outcome: Literal["delivered", "failed"]
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


def _page(
    uow: UnitOfWork, scope: feed.Scope, after: str | None, types: str | None, limit: int, partner_feed: bool
) -> dict[str, Any]:
    position = decode_cursor(after, "event")
    kinds = webhooks.check_types(types.split(","), partner=partner_feed) if types else None
    with uow.read() as s:
        if scope.distributor_id is not None and lookup.get_distributor(s, scope.distributor_id) is None:
            raise NotFound(f"distributor {scope.distributor_id!r} does not exist")
        if scope.vendor_id is not None and lookup.get_vendor(s, scope.vendor_id) is None:
            raise NotFound(f"vendor {scope.vendor_id!r} does not exist")
        events = feed.read(s, scope, after=tuple(position) if position else None, limit=limit, types=kinds)
        items = feed.documents(s, events)
    last = list(feed.position(events[-1])) if events else (position or [0, 0])
    return {"items": items, "next_cursor": encode_cursor(last)}


@router.get("/distributors/{distributor_id}/events", response_model=FeedPage)
def distributor_events(
    distributor_id: DistributorId,
    after: Cursor = None,
    types: TypesQuery = None,
    limit: Limit = 100,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer_or_integration),
) -> Response:
    """Every event of the distributor, in commit order. Follow `next_cursor` (as `after`) to see each
    event exactly once; an empty page still gives the cursor to poll with."""
    return render.json_response(_page(uow, feed.Scope(distributor_id=distributor_id), after, types, limit, False))


@router.get("/vendors/{vendor_id}/events", response_model=FeedPage)
def vendor_events(
    vendor_id: VendorId,
    after: Cursor = None,
    types: TypesQuery = None,
    limit: Limit = 100,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(partner),
) -> Response:
    """The vendor's events: its programmes and their lines (granted, extended, expiring, expired,
    revoked, budget crossings), at every distributor. No base-line amount ever appears in them."""
    return render.json_response(_page(uow, feed.Scope(vendor_id=vendor_id), after, types, limit, True))


def _webhook_out(hook: Webhook, secret: str | None = None) -> WebhookOut:
    import json

    return WebhookOut(
        id=hook.id,
        url=hook.url,
        types=json.loads(hook.types),
        distributor_id=hook.distributor_id,
        vendor_id=hook.vendor_id,
        status=hook.status,
        created_at=hook.created_at,
        disabled_at=hook.disabled_at,
        failing_since=hook.failing_since,
        attempts=hook.attempts,
        secret=secret,
    )


def _subscriber(who: Principal = Depends(current_principal)) -> Principal:
    if who.role not in ("admin", "credit_officer", "partner_manager"):
        raise Forbidden(f"a {who.role} key may not manage webhooks")
    return who


@router.post("/webhooks", status_code=201, response_model=WebhookOut)
@retry_transient
def create_webhook(
    body: WebhookIn, uow: UnitOfWork = Depends(get_uow), who: Principal = Depends(_subscriber)
) -> WebhookOut:
    """Subscribe a URL to event types. The answer holds the signing `secret`, shown this once.
    Deliveries start with the events committed after this call."""
    with uow.write() as s:
        hook, secret = webhooks.create(
            s, who, url=body.url, types=body.types, distributor_id=body.distributor_id, vendor_id=body.vendor_id
        )
        return _webhook_out(hook, secret)


@router.get("/webhooks", response_model=list[WebhookOut])
def list_webhooks(uow: UnitOfWork = Depends(get_uow), who: Principal = Depends(_subscriber)) -> list[WebhookOut]:
    """The endpoints the key may see (its distributor's or vendor's; an admin's: all)."""
    with uow.read() as s:
        return [_webhook_out(h) for h in webhooks.listing(s, who)]


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
def get_webhook(
    webhook_id: Id, uow: UnitOfWork = Depends(get_uow), who: Principal = Depends(_subscriber)
) -> WebhookOut:
    with uow.read() as s:
        return _webhook_out(webhooks.get(s, who, webhook_id))


@router.delete("/webhooks/{webhook_id}", status_code=204)
@retry_transient
def delete_webhook(
    webhook_id: Id, uow: UnitOfWork = Depends(get_uow), who: Principal = Depends(_subscriber)
) -> Response:
    """Stop deliveries to the endpoint at once (its deliveries log is kept)."""
    with uow.write() as s:
        webhooks.delete(s, who, webhook_id)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryPage)
def webhook_deliveries(
    webhook_id: Id,
    cursor: Cursor = None,
    limit: Limit = 100,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(_subscriber),
) -> DeliveryPage:
    """Every delivery attempt, newest first: the event, the answer's status or the error, the time taken."""
    before = decode_cursor(cursor, "seq")
    with uow.read() as s:
        rows: list[WebhookAttempt] = webhooks.deliveries(s, who, webhook_id, before=before, limit=limit + 1)
    items = [
        DeliveryOut(
            id=a.id,
            event_id=str(a.event_id),
            attempt=a.attempt,
            at=a.at,
            outcome=a.outcome,
            status_code=a.status_code,
            error=a.error,
            duration_ms=a.duration_ms,
        )
        for a in rows[:limit]
    ]
    return DeliveryPage(items=items, next_cursor=encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)

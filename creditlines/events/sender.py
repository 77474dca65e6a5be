"""The webhook sender: at-least-once delivery, in order per endpoint, signed (SPEC §13).

Each endpoint keeps a cursor (the last event delivered, in feed order). A sender *leases* due
endpoints (``lease_owner``/``lease_until``, claimed with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, under SQLite's single writer otherwise), so several senders — inside each
``creditlines serve`` worker and as ``creditlines deliver`` — never work on one endpoint, hence
never deliver one event twice at the same moment. For a leased endpoint it POSTs the next
events one at a time; a 2xx advances the cursor. Any other answer, or no answer within the
timeout, is logged, and the endpoint waits (exponential backoff with jitter, the first retry
within 30 s) before the *same* event is tried again: later events wait behind it (order per
endpoint). An endpoint failing for the whole retry window (24 h) is disabled, and a
``webhook.disabled`` event says so.

The sender never runs on a request's path: it is its own asyncio task with its own HTTP client
(timeouts on every call) and database threads, delivering to at most ``sender_concurrency``
endpoints at once, so a dead endpoint costs one lease slot, not API latency.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update

from creditlines import clock, metrics
from creditlines.config import Settings
from creditlines.db.engine import UnitOfWork, is_postgresql
from creditlines.events import feed, outbox
from creditlines.events.models import Webhook, WebhookAttempt
from creditlines.events.types import EventType

log = logging.getLogger("creditlines.sender")
BATCH = 50  # events delivered to one endpoint per lease before others get their turn


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with the endpoint's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def backoff(attempts: int, settings: Settings) -> float:
    """Seconds before attempt ``attempts + 1``: base × 2^(attempts−1), capped, times 50–100 %."""
    delay = min(settings.webhook_retry_cap_seconds, settings.webhook_retry_base_seconds * 2 ** max(0, attempts - 1))
    return float(delay * (0.5 + random.random() / 2))


@dataclass(frozen=True)
class Lease:
    id: str
    url: str
    secret: str
    types: list[str]
    scope: feed.Scope
    cursor: tuple[int, int]
    attempts: int


class Sender:
    def __init__(self, uow: UnitOfWork, settings: Settings, *, owner: str | None = None) -> None:
        self.uow, self.settings = uow, settings
        self.owner = owner or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._client: httpx.AsyncClient | None = None

    # ------------------------------------------------------------------ database (in threads)

    def _any_due(self) -> bool:
        """A read first: a sender with nothing to do costs one indexed read per poll, no write."""
        now = clock.now()
        with self.uow.read() as s:
            return (
                s.execute(
                    select(Webhook.id)
                    .where(
                        Webhook.status == "active",
                        Webhook.next_attempt_at <= now,
                        or_(Webhook.lease_until.is_(None), Webhook.lease_until < now),
                    )
                    .limit(1)
                ).first()
                is not None
            )

    def _claim(self) -> list[Lease]:
        if not self._any_due():
            return []
        now = clock.now()
        lease_until = now + timedelta(seconds=self.settings.webhook_timeout_seconds * (BATCH + 1) + 30)
        with self.uow.write() as s:
            stmt = (
                select(Webhook)
                .where(
                    Webhook.status == "active",
                    Webhook.deleted.is_(False),
                    Webhook.next_attempt_at <= now,
                    or_(Webhook.lease_until.is_(None), Webhook.lease_until < now),
                )
                .order_by(Webhook.next_attempt_at)
                .limit(self.settings.sender_concurrency)
            )
            if is_postgresql(s):
                stmt = stmt.with_for_update(skip_locked=True)
            hooks = list(s.scalars(stmt))
            leases = []
            for h in hooks:
                h.lease_owner, h.lease_until = self.owner, lease_until
                leases.append(
                    Lease(
                        h.id,
                        h.url,
                        h.secret,
                        json.loads(h.types),
                        feed.Scope(h.distributor_id, h.vendor_id),
                        (h.cursor_txid, h.cursor_id),
                        h.attempts,
                    )
                )
            return leases

    def _next(self, lease: Lease, cursor: tuple[int, int]) -> dict[str, Any] | None:
        with self.uow.read() as s:
            events = feed.read(s, lease.scope, after=cursor, limit=1, types=lease.types)
            if not events:
                return None
            doc = feed.documents(s, events)[0]
            return {"doc": doc, "position": feed.position(events[0]), "occurred_at": events[0].occurred_at}

    def _settle(
        self,
        lease: Lease,
        *,
        event_id: int,
        distributor_id: str,
        position: tuple[int, int] | None,
        attempt: int,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
    ) -> bool:
        """Log the attempt and move the endpoint on; False when the lease was lost meanwhile."""
        now = clock.now()
        with self.uow.write() as s:
            stmt = select(Webhook).where(Webhook.id == lease.id, Webhook.lease_owner == self.owner)
            if is_postgresql(s):
                stmt = stmt.with_for_update()
            hook = s.scalars(stmt.execution_options(populate_existing=True)).first()
            if hook is None or hook.status != "active" or hook.deleted:
                return False
            delivered = position is not None
            s.add(
                WebhookAttempt(
                    webhook_id=hook.id,
                    event_id=event_id,
                    attempt=attempt,
                    at=now,
                    outcome="delivered" if delivered else "failed",
                    status_code=status_code,
                    error=error[:500] if error else None,
                    duration_ms=duration_ms,
                )
            )
            if delivered:
                assert position is not None
                hook.cursor_txid, hook.cursor_id = position
                hook.attempts, hook.failing_since = 0, None
                return True
            hook.attempts += 1
            hook.failing_since = hook.failing_since or now
            hook.lease_owner = hook.lease_until = None
            if (now - hook.failing_since).total_seconds() >= self.settings.webhook_retry_window_seconds:
                hook.status, hook.disabled_at = "disabled", now
                # Of the distributor of the event it was stuck on (every event is of one); a
                # vendor's endpoint shows in the vendor's feed only (feed.Scope).
                outbox.record(
                    s,
                    EventType.WEBHOOK_DISABLED,
                    distributor_id=distributor_id,
                    vendor_id=hook.vendor_id,
                    at=now,
                    data={
                        "webhook_id": hook.id,
                        "url": hook.url,
                        "failing_since": hook.failing_since.isoformat(),
                        "attempts": hook.attempts,
                    },
                )
                metrics.WEBHOOK_DISABLED.inc()
                log.warning("webhook %s disabled: failing since %s", hook.id, hook.failing_since.isoformat())
            else:
                hook.next_attempt_at = now + timedelta(seconds=backoff(hook.attempts, self.settings))
            return False

    def _release(self, lease: Lease) -> None:
        with self.uow.write() as s:
            s.execute(
                update(Webhook)
                .where(Webhook.id == lease.id, Webhook.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
            )

    def failing_endpoints(self) -> int:
        with self.uow.read() as s:
            return len(
                list(
                    s.scalars(select(Webhook.id).where(Webhook.status == "active", Webhook.failing_since.is_not(None)))
                )
            )

    # ------------------------------------------------------------------ delivery

    async def _post(self, lease: Lease, doc: dict[str, Any]) -> tuple[int | None, str | None]:
        assert self._client is not None
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "Creditlines-Event-Id": doc["id"],
            "Creditlines-Timestamp": timestamp,
            "Creditlines-Signature": signature(lease.secret, timestamp, body),
            "User-Agent": "creditlines-webhooks/1",
        }
        try:
            response = await self._client.post(lease.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, "timeout"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    async def _serve_endpoint(self, lease: Lease) -> int:
        cursor, attempt, sent = lease.cursor, lease.attempts + 1, 0
        try:
            for _ in range(BATCH):
                item = await asyncio.to_thread(self._next, lease, cursor)
                if item is None:
                    break
                started = time.perf_counter()
                status_code, error = await self._post(lease, item["doc"])
                elapsed = time.perf_counter() - started
                metrics.WEBHOOK_LATENCY.observe(elapsed)
                ok = error is None
                metrics.WEBHOOK_DELIVERIES.labels("delivered" if ok else "failed").inc()
                kept = await asyncio.to_thread(
                    self._settle,
                    lease,
                    event_id=int(item["doc"]["id"]),
                    distributor_id=item["doc"]["distributor_id"],
                    position=item["position"] if ok else None,
                    attempt=attempt,
                    status_code=status_code,
                    error=error,
                    duration_ms=int(elapsed * 1000),
                )
                if not ok or not kept:
                    return sent  # _settle released the lease (or it was lost)
                metrics.WEBHOOK_LAG.set(max(0.0, (clock.now() - item["occurred_at"]).total_seconds()))
                cursor, attempt, sent = item["position"], 1, sent + 1
        except Exception:  # a database hiccup: the lease runs out and the endpoint is tried again
            log.exception("webhook %s: delivery interrupted", lease.id)
            return sent
        await asyncio.to_thread(self._release, lease)
        return sent

    async def run_once(self) -> int:
        """Claim the due endpoints and deliver what they have; returns events delivered."""
        leases = await asyncio.to_thread(self._claim)
        if not leases:
            return 0
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.settings.webhook_timeout_seconds,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=self.settings.sender_concurrency),
            )
        results = await asyncio.gather(*(self._serve_endpoint(lease) for lease in leases))
        return sum(results)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Until ``stop`` is set: deliver, then wait ``sender_poll_seconds`` when there was nothing."""
        stop = stop or asyncio.Event()
        log.info("webhook sender %s started", self.owner)
        polls = 0
        try:
            while not stop.is_set():
                try:
                    delivered = await self.run_once()
                    polls += 1
                    if polls % 60 == 1:
                        metrics.WEBHOOK_FAILING.set(await asyncio.to_thread(self.failing_endpoints))
                except Exception:  # the database is away: try again at the next poll
                    log.exception("webhook sender: poll failed")
                    delivered = 0
                if not delivered:
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=self.settings.sender_poll_seconds)
                    except TimeoutError:
                        pass
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

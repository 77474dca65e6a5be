"""The webhook sender: at-least-once delivery, in order per endpoint, signed, fair (SPEC §13, §23).

Each endpoint keeps a cursor (the last event delivered, in feed order). A sender claims
endpoints (:mod:`creditlines.events.claims`): only those with an undelivered event, least
recently served first (round robin), each *leased* (``lease_owner``/``lease_until``, claimed with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, under SQLite's single writer otherwise), so several
senders — inside each ``creditlines serve`` worker and as ``creditlines deliver`` — never work on
one endpoint, hence never deliver one event twice at the same moment. For a leased endpoint it
POSTs the next events one at a time, for one *turn* (at most ``BATCH`` events or
``sender_turn_seconds``), then gives the endpoint back; a 2xx advances the cursor. Any other
answer, or no answer within the timeout, is logged as a coarse outcome (``http_<status>``,
``timeout``, ``connection_failed``, ``tls_error``, ``refused_address``: never an exception's
text), and the endpoint waits (exponential backoff with jitter, the first retry within 30 s)
before the *same* event is tried again: later events wait behind it (order per endpoint). An
endpoint failing for the whole retry window (24 h) is disabled, and a ``webhook.disabled`` event
says so.

Connections go only where :mod:`creditlines.events.destinations` allows, to the address it
checked. The sender never runs on a request's path: it is its own asyncio task with its own HTTP
client (timeouts on every call) and database threads, keeping up to ``sender_concurrency``
endpoints in flight and claiming the next one as soon as a slot frees, so a slow endpoint costs
one slot, not everyone's turn nor API latency.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from creditlines import clock, metrics
from creditlines.config import Settings
from creditlines.db.engine import UnitOfWork, is_postgresql
from creditlines.events import claims, destinations, feed, outbox, signing
from creditlines.events.claims import Lease
from creditlines.events.models import Webhook, WebhookAttempt
from creditlines.events.types import EventType

log = logging.getLogger("creditlines.sender")
BATCH = 50  # events delivered to one endpoint in one turn at most
signature = signing.signature  # kept for callers of the earlier module


def backoff(attempts: int, settings: Settings) -> float:
    """Seconds before attempt ``attempts + 1``: base × 2^(attempts−1), capped, times 50–100 %."""
    delay = min(settings.webhook_retry_cap_seconds, settings.webhook_retry_base_seconds * 2 ** max(0, attempts - 1))
    return float(delay * (0.5 + random.random() / 2))


class Sender:
    def __init__(self, uow: UnitOfWork, settings: Settings, *, owner: str | None = None) -> None:
        self.uow, self.settings = uow, settings
        self.owner = owner or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._client: httpx.AsyncClient | None = None

    # ------------------------------------------------------------------ database (in threads)

    def _claim(self, slots: int | None = None, failing_busy: int = 0) -> list[Lease]:
        slots = self.settings.sender_concurrency if slots is None else slots
        return claims.claim(self.uow, self.settings, self.owner, slots=slots, failing_busy=failing_busy)

    def _next(self, lease: Lease, cursor: tuple[int, int]) -> dict[str, Any] | None:
        with self.uow.read() as s:
            events = feed.read(s, lease.scope, after=cursor, upto=lease.head, limit=1, types=lease.types)
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
        result: str,
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
                    error=None if delivered else result,
                    result=result,
                    duration_ms=duration_ms,
                )
            )
            if delivered:
                assert position is not None
                hook.cursor_txid, hook.cursor_id = position
                if hook.attempts or hook.failing_since is not None:
                    hook.attempts, hook.failing_since, hook.next_attempt_at = 0, None, now
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
                        "last_outcome": result,
                    },
                )
                metrics.WEBHOOK_DISABLED.inc()
                log.warning("webhook %s disabled: failing since %s", hook.id, hook.failing_since.isoformat())
            else:
                hook.next_attempt_at = now + timedelta(seconds=backoff(hook.attempts, self.settings))
            return False

    def _release(self, lease: Lease) -> None:
        with self.uow.write() as s:
            claims.released(s, lease.id, self.owner)

    # ------------------------------------------------------------------ delivery

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = destinations.client(
                self.settings.allow_networks,
                timeout=self.settings.webhook_timeout_seconds,
                max_connections=max(1, self.settings.sender_concurrency),
            )
        return self._client

    async def _post(self, lease: Lease, doc: dict[str, Any]) -> tuple[int | None, str]:
        """POST one event: the answer's status (if any) and the coarse outcome."""
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "Creditlines-Event-Id": doc["id"],
            "Creditlines-Timestamp": timestamp,
            "Creditlines-Signature": signing.signatures(lease.secrets, timestamp, body),
            "User-Agent": "creditlines-webhooks/1",
        }
        try:
            response = await self._http().post(lease.url, content=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL, destinations.RefusedAddress, OSError, ValueError) as exc:
            return None, destinations.outcome(exc)
        return response.status_code, f"http_{response.status_code}"

    async def _serve_endpoint(self, lease: Lease) -> int:
        """One turn: the endpoint's next events up to the head seen at the claim, until it fails or
        the turn is over (events committed since wait for its next turn, claimed at once)."""
        cursor, attempt, sent = lease.cursor, lease.attempts + 1, 0
        turn_ends = time.perf_counter() + self.settings.sender_turn_seconds
        try:
            for _ in range(BATCH):
                item = await asyncio.to_thread(self._next, lease, cursor)
                if item is None:
                    break
                started = time.perf_counter()
                status_code, result = await self._post(lease, item["doc"])
                elapsed = time.perf_counter() - started
                metrics.WEBHOOK_LATENCY.observe(elapsed)
                ok = status_code is not None and 200 <= status_code < 300
                metrics.WEBHOOK_DELIVERIES.labels("delivered" if ok else "failed").inc()
                kept = await asyncio.to_thread(
                    self._settle,
                    lease,
                    event_id=int(item["doc"]["id"]),
                    distributor_id=item["doc"]["distributor_id"],
                    position=item["position"] if ok else None,
                    attempt=attempt,
                    status_code=status_code,
                    result=result,
                    duration_ms=int(elapsed * 1000),
                )
                if not ok or not kept:
                    return sent  # _settle released the lease (or it was lost)
                cursor, attempt, sent = item["position"], 1, sent + 1
                if time.perf_counter() >= turn_ends:
                    break  # the others' turn; this endpoint is claimed again at its next turn
        except Exception:  # a database hiccup: the lease runs out and the endpoint is tried again
            log.exception("webhook %s: delivery interrupted", lease.id)
            return sent
        await asyncio.to_thread(self._release, lease)
        return sent

    async def run_once(self) -> int:
        """One pass: claim up to ``sender_concurrency`` endpoints with something to send (round
        robin) and serve each one turn; returns events delivered."""
        leases = await asyncio.to_thread(self._claim)
        if not leases:
            return 0
        results = await asyncio.gather(*(self._serve_endpoint(lease) for lease in leases))
        return sum(results)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Until ``stop`` is set: keep up to ``sender_concurrency`` endpoints in flight, claiming the
        next as soon as one is done, and looking again every ``sender_poll_seconds``."""
        stop = stop or asyncio.Event()
        log.info("webhook sender %s started", self.owner)
        busy: dict[asyncio.Task[int], Lease] = {}
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                free = self.settings.sender_concurrency - len(busy)
                if free > 0:
                    failing = sum(1 for lease in busy.values() if lease.attempts > 0)
                    try:
                        for lease in await asyncio.to_thread(self._claim, free, failing):
                            busy[asyncio.create_task(self._serve_endpoint(lease))] = lease
                    except Exception:  # the database is away: try again at the next poll
                        log.exception("webhook sender: poll failed")
                await asyncio.wait(
                    [*busy, stopping], timeout=self.settings.sender_poll_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                for task in [t for t in busy if t.done()]:
                    del busy[task]
        finally:
            if busy:  # let the deliveries in flight end (their leases would otherwise run out)
                await asyncio.wait(list(busy), timeout=self.settings.webhook_timeout_seconds + 1)
                for task in busy:
                    task.cancel()
            stopping.cancel()
            await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

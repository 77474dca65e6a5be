"""Which endpoints a sender works on next: only those with something to send, round robin.

A claim has two steps.

1. **Survey** (a read, no lock): every active endpoint, and for each scope (a distributor's or a
   vendor's feed) the position of its last readable event — its *head*. An endpoint whose cursor
   is at its head has nothing to send (one indexed read per scope, whatever the number of
   endpoints). For the others, the first event after the cursor, up to the head, of the types it
   subscribed to: found, the endpoint is *waiting* and the event's age is its lag; none (only
   events of other types), its cursor may move to the head (*fast-forward*, so an endpoint of a
   rare type is not surveyed over the same events again).
2. **Claim** (a short write): fast-forwards (compare-and-set on the cursor), then waiting
   endpoints that are due (not in a retry pause) and not leased, lowest ``turn`` first, locked
   ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer): each gets the lease and the
   next turn, so it goes to the back of the queue. At most half of a sender's slots go to
   endpoints in a failing streak, so dead endpoints cannot hold every slot.

The head bounds the search: every event at or before it belongs to a transaction that has ended,
so "no matching event up to the head" stays true, and a fast-forward never skips an event.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from creditlines import clock, metrics
from creditlines.config import Settings
from creditlines.db.engine import UnitOfWork, is_postgresql
from creditlines.events import feed, signing
from creditlines.events.models import Webhook

log = logging.getLogger("creditlines.sender")
SECRET_UNAVAILABLE_PAUSE = timedelta(minutes=5)
WINDOW = 500  # events of one scope read at once by a survey


@dataclass(frozen=True)
class Lease:
    id: str
    url: str
    secrets: list[str]  # those that sign now, the newest first
    types: list[str]
    scope: feed.Scope
    cursor: tuple[int, int]
    attempts: int
    head: tuple[int, int]  # the scope's last readable event when claimed: the turn ends there


@dataclass
class Survey:
    waiting: dict[str, datetime] = field(default_factory=dict)  # endpoint -> its oldest undelivered event
    forward: dict[str, tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=dict)  # id -> (from, to)
    heads: dict[str, tuple[int, int]] = field(default_factory=dict)  # waiting endpoint -> its scope's head
    failing: int = 0

    def lag_seconds(self, now: datetime) -> float:
        return max((max(0.0, (now - at).total_seconds()) for at in self.waiting.values()), default=0.0)


def _scope(hook: Webhook) -> feed.Scope:
    return feed.Scope(hook.distributor_id, hook.vendor_id)


def survey(session: Session) -> Survey:
    found = Survey()
    hooks = list(
        session.scalars(
            select(Webhook).where(Webhook.status == "active", Webhook.deleted.is_(False)).order_by(Webhook.id)
        )
    )
    by_scope: dict[feed.Scope, list[Webhook]] = {}
    for hook in hooks:
        found.failing += hook.failing_since is not None
        by_scope.setdefault(_scope(hook), []).append(hook)
    for scope, members in by_scope.items():
        head = feed.head(session, scope)
        behind = [h for h in members if head is not None and (h.cursor_txid, h.cursor_id) < head]
        if head is None or not behind:
            continue
        # One read of the scope's events after the furthest-behind cursor serves every endpoint
        # of the scope; an endpoint it does not settle (a long window) is read on its own.
        low = min((h.cursor_txid, h.cursor_id) for h in behind)
        seen = feed.window(session, scope, after=low, upto=head, limit=WINDOW)
        for hook in behind:
            cursor, kinds = (hook.cursor_txid, hook.cursor_id), set(json.loads(hook.types))
            first = next((at for pos, type_, at in seen if pos > cursor and type_ in kinds), None)
            if first is None and len(seen) == WINDOW:
                events = feed.read(session, scope, after=cursor, upto=head, limit=1, types=sorted(kinds))
                first = events[0].occurred_at if events else None
            if first is not None:
                found.waiting[hook.id], found.heads[hook.id] = first, head
            elif hook.lease_owner is None:
                found.forward[hook.id] = (cursor, head)
    return found


def claim(uow: UnitOfWork, settings: Settings, owner: str, *, slots: int, failing_busy: int = 0) -> list[Lease]:
    """Survey, then lease up to ``slots`` waiting endpoints (``failing_busy``: this sender's
    endpoints in a failing streak already in flight, counted against the half for them)."""
    with uow.read() as s:
        found = survey(s)
    now = clock.now()
    metrics.WEBHOOK_LAG.set(found.lag_seconds(now))
    metrics.WEBHOOK_WAITING.set(len(found.waiting))
    metrics.WEBHOOK_FAILING.set(found.failing)
    if not found.forward and (slots <= 0 or not found.waiting):
        return []
    lease_until = now + timedelta(seconds=settings.sender_turn_seconds + 2 * settings.webhook_timeout_seconds + 30)
    failing_cap = max(1, settings.sender_concurrency // 2) - failing_busy
    with uow.write() as s:
        for hook_id, (before, after) in sorted(found.forward.items()):  # one lock order for all senders
            s.execute(
                update(Webhook)
                .where(
                    Webhook.id == hook_id,
                    Webhook.cursor_txid == before[0],
                    Webhook.cursor_id == before[1],
                    Webhook.lease_owner.is_(None),
                )
                .values(cursor_txid=after[0], cursor_id=after[1])
            )
        if slots <= 0 or not found.waiting:
            return []
        stmt = (
            select(Webhook)
            .where(
                Webhook.id.in_(list(found.waiting)),
                Webhook.status == "active",
                Webhook.deleted.is_(False),
                Webhook.next_attempt_at <= now,
                (Webhook.lease_until.is_(None)) | (Webhook.lease_until < now),
            )
            .order_by(Webhook.turn, Webhook.id)
            .limit(slots + max(0, failing_cap) + 8)
        )
        if is_postgresql(s):
            stmt = stmt.with_for_update(skip_locked=True)
        candidates = list(s.scalars(stmt.execution_options(populate_existing=True)))
        if not candidates:
            return []
        turn = int(s.execute(select(func.coalesce(func.max(Webhook.turn), 0))).scalar_one()) + 1
        leases: list[Lease] = []
        for hook in candidates:
            if len(leases) >= slots:
                break
            if hook.attempts > 0:
                if failing_cap <= 0:
                    continue
                failing_cap -= 1
            try:
                current = signing.unseal(hook.secret, settings.secret_key)
                previous = signing.unseal(hook.previous_secret, settings.secret_key) if hook.previous_secret else None
            except signing.SecretUnavailable as exc:
                log.error("webhook %s: %s; not delivered", hook.id, exc)
                hook.next_attempt_at = now + SECRET_UNAVAILABLE_PAUSE
                continue
            hook.lease_owner, hook.lease_until, hook.turn = owner, lease_until, turn
            turn += 1
            leases.append(
                Lease(
                    hook.id,
                    hook.url,
                    signing.in_force(current, previous, hook.previous_secret_until, now),
                    json.loads(hook.types),
                    _scope(hook),
                    (hook.cursor_txid, hook.cursor_id),
                    hook.attempts,
                    found.heads[hook.id],
                )
            )
        return leases


def released(session: Session, hook_id: str, owner: str) -> None:
    session.execute(
        update(Webhook)
        .where(and_(Webhook.id == hook_id, Webhook.lease_owner == owner))
        .values(lease_owner=None, lease_until=None)
    )

"""Reading events in order: the feeds and the webhook sender share :func:`read`.

Order is ``(txid, id)``: on PostgreSQL ``txid`` is the writing transaction's id, and a read
returns only events whose transaction is older than the oldest transaction still running
in this database (``HORIZON_SQL``), all of which have ended. An event that commits later therefore always
sorts after every position a reader has already been given: following positions, nothing is
skipped and nothing is seen twice. On SQLite ``txid`` is 0 and ids follow commit order (one
writer at a time). See docs/DECISIONS.md, "Events in commit order".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, text, true
from sqlalchemy.orm import Session

from creditlines.events.models import Event
from creditlines.events.types import PARTNER_TYPES, EventType
from creditlines.money import money_json
from creditlines.tenants import lookup

MAX_POSITION = 2**63 - 1


@dataclass(frozen=True)
class Scope:
    """Whose events: one distributor's, one vendor's (its programmes and their lines), or all (admin)."""

    distributor_id: str | None = None
    vendor_id: str | None = None

    def where(self) -> ColumnElement[bool]:
        if self.vendor_id is not None:
            # The partner's scope is part of the query, never a filter applied afterwards.
            return and_(Event.vendor_id == self.vendor_id, Event.type.in_(PARTNER_TYPES))
        if self.distributor_id is not None:
            # Everything of the distributor but a vendor's own webhook being disabled.
            return and_(
                Event.distributor_id == self.distributor_id,
                or_(Event.vendor_id.is_(None), Event.type != EventType.WEBHOOK_DISABLED.value),
            )
        return true()


# The oldest transaction that was running when this statement's snapshot was taken and may be
# writing to this database: every transaction of the snapshot's in-progress list, except those
# that pg_stat_activity shows connected to another database (another installation's or test's
# long transaction does not hold this feed back). One that ended meanwhile cannot be placed and
# counts (the safe side). With none, the snapshot's xmax: everything below it has ended.
# pg_stat_activity shows `backend_xid` as a 32-bit xid: compared modulo 2^32.
HORIZON_SQL = """coalesce(
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
      WHERE x::text::bigint % 4294967296 NOT IN (
            SELECT backend_xid::text::bigint FROM pg_stat_activity
             WHERE backend_xid IS NOT NULL AND datid IS NOT NULL AND datname <> current_database())),
    pg_snapshot_xmax(pg_current_snapshot())::text::bigint)"""


def horizon(session: Session) -> ColumnElement[bool]:
    """Events readable now without ever skipping one committed later (PostgreSQL; SQLite: all)."""
    if session.get_bind().dialect.name == "postgresql":
        return Event.txid < text(f"({HORIZON_SQL})")
    return true()


def read(
    session: Session,
    scope: Scope,
    *,
    after: tuple[int, int] | None,
    limit: int,
    types: Sequence[str] | None = None,
    upto: tuple[int, int] | None = None,
) -> list[Event]:
    """Up to ``limit`` events of ``scope`` after position ``after``, in order; with ``upto`` (a
    position :func:`head` gave, hence below the horizon) only those at or before it."""
    stmt = select(Event).where(*_between(session, scope, after, upto))
    if types:
        stmt = stmt.where(Event.type.in_(list(types)))
    return list(session.scalars(stmt.order_by(Event.txid, Event.id).limit(limit)))


def _between(
    session: Session, scope: Scope, after: tuple[int, int] | None, upto: tuple[int, int] | None
) -> list[ColumnElement[bool]]:
    # Below a head every transaction has ended: no horizon needed (it costs a look at the server's
    # activity on PostgreSQL).
    where = [scope.where(), horizon(session) if upto is None else true()]
    if after is not None:
        txid, event_id = after
        where.append(or_(Event.txid > txid, and_(Event.txid == txid, Event.id > event_id)))
    if upto is not None:
        txid, event_id = upto
        where.append(or_(Event.txid < txid, and_(Event.txid == txid, Event.id <= event_id)))
    return where


def window(
    session: Session, scope: Scope, *, after: tuple[int, int], upto: tuple[int, int], limit: int
) -> list[tuple[tuple[int, int], str, datetime]]:
    """Position, type and instant of the scope's events in ``(after, upto]``, in order, at most
    ``limit`` (what the webhook sender surveys, without the documents)."""
    rows = session.execute(
        select(Event.txid, Event.id, Event.type, Event.occurred_at)
        .where(*_between(session, scope, after, upto))
        .order_by(Event.txid, Event.id)
        .limit(limit)
    )
    return [((int(txid), int(event_id)), str(type_), at) for txid, event_id, type_, at in rows]


def head(session: Session, scope: Scope) -> tuple[int, int] | None:
    """The position of the scope's last readable event (every event at or before it has ended)."""
    found = session.execute(
        select(Event.txid, Event.id)
        .where(scope.where(), horizon(session))
        .order_by(Event.txid.desc(), Event.id.desc())
        .limit(1)
    ).first()
    return None if found is None else (int(found[0]), int(found[1]))


def position(event: Event) -> tuple[int, int]:
    return (event.txid, event.id)


def current_position(session: Session) -> tuple[int, int]:
    """A position after every event already readable (where a new subscription starts)."""
    if session.get_bind().dialect.name == "postgresql":
        first_unsafe = session.execute(text(f"SELECT {HORIZON_SQL}")).scalar_one()
        return (int(first_unsafe) - 1, MAX_POSITION)
    return (0, int(session.execute(select(func.coalesce(func.max(Event.id), 0))).scalar_one()))


def _render(value: Any, currency: str | None) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key.endswith("_minor") and isinstance(item, int) and currency is not None:
                out[key[: -len("_minor")]] = money_json(item, currency)
            else:
                out[key] = _render(item, currency)
        return out
    if isinstance(value, list):
        return [_render(item, currency) for item in value]
    return value


def document(event: Event, currency: str | None) -> dict[str, Any]:
    """The event as the feeds and webhooks show it (SPEC §13); amounts as money."""
    doc: dict[str, Any] = {
        "id": str(event.id),
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "distributor_id": event.distributor_id,
    }
    if event.vendor_id is not None:
        doc["vendor_id"] = event.vendor_id
    if event.reseller_id is not None:
        doc["reseller_id"] = event.reseller_id
    doc["data"] = _render(json.loads(event.data), currency)
    return doc


def documents(session: Session, events: list[Event]) -> list[dict[str, Any]]:

    currencies: dict[str, str | None] = {}
    out = []
    for event in events:
        d = event.distributor_id
        if d is not None and d not in currencies:
            info = lookup.get_distributor(session, d)
            currencies[d] = info.currency if info else None
        out.append(document(event, currencies.get(d) if d else None))
    return out

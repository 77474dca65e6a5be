"""Appending events: :func:`record`, in the caller's transaction (the outbox).

Every change of state calls it inside the transaction of the change, so an event exists if
and only if its change was committed. Amounts in ``data`` are minor units under keys ending
in ``_minor``; the feeds render them as money in the distributor's currency (the drawing
function on PostgreSQL writes the same documents without knowing the currency).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.events.models import Event
from creditlines.events.types import ALL_TYPES, DISTRIBUTOR_ONLY_KEYS

_TABLE: Table = Event.__table__  # type: ignore[assignment]


def _document(type_: str, vendor_id: str | None, data: dict[str, Any]) -> str:
    if type_ not in ALL_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    if vendor_id is not None and DISTRIBUTOR_ONLY_KEYS & data.keys():
        # A vendor's feed never shows a base line or a reseller's whole position (SPEC §13).
        raise ValueError(
            f"{type_}: an event naming a vendor cannot carry {sorted(DISTRIBUTOR_ONLY_KEYS & data.keys())}"
        )
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def row(
    type_: str,
    *,
    distributor_id: str,
    data: dict[str, Any],
    at: datetime | None = None,
    reseller_id: str | None = None,
    vendor_id: str | None = None,
    programme_id: str | None = None,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    """One event row, for :func:`record_many`."""
    return {
        "type": str(type_),
        "occurred_at": at or clock.now(),
        "distributor_id": distributor_id,
        "reseller_id": reseller_id,
        "vendor_id": vendor_id,
        "programme_id": programme_id,
        "dedupe_key": dedupe_key,
        "data": _document(str(type_), vendor_id, data),
    }


def record(
    session: Session | Connection,
    type_: str,
    *,
    distributor_id: str,
    data: dict[str, Any],
    at: datetime | None = None,
    reseller_id: str | None = None,
    vendor_id: str | None = None,
    programme_id: str | None = None,
) -> None:
    """Append one event in the caller's transaction (flushes nothing of the caller's)."""
    record_many(
        session,
        [
            row(
                type_,
                distributor_id=distributor_id,
                data=data,
                at=at,
                reseller_id=reseller_id,
                vendor_id=vendor_id,
                programme_id=programme_id,
            )
        ],
    )


def _insert(conn: Connection) -> Any:
    """PostgreSQL numbers events with the identity column; SQLite with the rowid each row gets
    (max + 1: one writer at a time, and event rows are never deleted)."""
    if conn.dialect.name == "postgresql":
        return insert(_TABLE)
    return insert(_TABLE).values(
        id=select(func.coalesce(func.max(literal_column("rowid")), 0) + 1).select_from(_TABLE).scalar_subquery()
    )


def record_many(session: Session | Connection, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` (from :func:`row`) in their order. On PostgreSQL many rows go in one
    statement (``creditlines.db.bulk``): the same rows, numbered in the same order."""
    if rows:
        from creditlines.db import bulk

        conn = session.connection() if isinstance(session, Session) else session
        if len(rows) > 1 and bulk.usable(conn):
            bulk.insert_rows(conn, _TABLE, rows)
        else:
            conn.execute(_insert(conn), rows)


def record_once(session: Session, rows: list[dict[str, Any]]) -> int:
    """Append events that carry a ``dedupe_key``; those already written are skipped (a replayed
    night writes nothing twice, two jobs at once neither). Returns how many were written."""
    if not rows:
        return 0
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        stmt: Any = pg_insert(_TABLE)
    else:
        stmt = sqlite_insert(_TABLE).values(
            id=select(func.coalesce(func.max(literal_column("rowid")), 0) + 1).select_from(_TABLE).scalar_subquery()
        )
    stmt = stmt.on_conflict_do_nothing(
        index_elements=["distributor_id", "dedupe_key"], index_where=_TABLE.c.dedupe_key.is_not(None)
    )
    written = 0
    for chunk in range(0, len(rows), 500):
        result = conn.execute(stmt, rows[chunk : chunk + 500])
        written += max(result.rowcount, 0)
    return written


def money_minor(value: int | None) -> int | None:
    """Documents the convention: amounts in data are integers of minor units."""
    return value

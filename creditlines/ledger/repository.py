"""The ledger's queries: reads by key, row locks, listings, streams for ``verify``.

The set-wise writes of the nightly expiry are in :mod:`creditlines.ledger.lines` and
:mod:`creditlines.ledger.journal`; the drawing statement on PostgreSQL is the function in
``creditlines/db/sql/``; the fold of the journal is :mod:`creditlines.ledger.fold`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import Subquery, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.db.engine import fresh, is_postgresql, locked
from creditlines.errors import NotFound
from creditlines.ledger.models import Allocation, Drawing, LedgerEntry, Line, Release, Reseller


def reseller_with_lines(session: Session, distributor_id: str, reseller_id: str) -> tuple[Reseller | None, list[Line]]:
    """The reseller and its lines in one statement: one consistent read, one round trip."""
    rows = session.execute(
        select(Reseller, Line)
        .join(Line, (Line.distributor_id == Reseller.distributor_id) & (Line.reseller_id == Reseller.id))
        .where(Reseller.distributor_id == distributor_id, Reseller.id == reseller_id)
        .order_by(Line.grant_seq)
    ).all()
    if not rows:
        return None, []
    return rows[0][0], [line for _, line in rows]


def get_reseller(session: Session, distributor_id: str, reseller_id: str, *, lock: bool = False) -> Reseller | None:
    """The reseller row; with ``lock`` it is held until the transaction ends.

    On PostgreSQL the lock is ``SELECT … FOR NO KEY UPDATE``; on SQLite the write transaction
    already holds the database's write lock (``BEGIN IMMEDIATE``). A locked read refreshes the
    object the session may already hold.
    """
    stmt = select(Reseller).where(Reseller.distributor_id == distributor_id, Reseller.id == reseller_id)
    if lock:
        stmt = locked(session, stmt)
    return session.scalars(stmt).one_or_none()


def insert_reseller_if_absent(session: Session, values: dict[str, Any]) -> bool:
    """Insert a reseller unless it exists; True when this call created it (race-safe)."""
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    stmt = (
        insert(Reseller)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["distributor_id", "id"])
        .returning(Reseller.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def lines_of(session: Session, distributor_id: str, reseller_id: str) -> list[Line]:
    """The reseller's lines as the database has them (callers hold the reseller's lock)."""
    return list(
        session.scalars(
            fresh(
                session,
                select(Line)
                .where(Line.distributor_id == distributor_id, Line.reseller_id == reseller_id)
                .order_by(Line.grant_seq),
            )
        )
    )


def get_drawing(session: Session, distributor_id: str, reseller_id: str, reference: str) -> Drawing | None:
    return session.get(Drawing, (distributor_id, reseller_id, reference))


def list_drawings(
    session: Session,
    distributor_id: str,
    reseller_id: str,
    *,
    after_reference: str | None,
    limit: int,
    status: str | None = None,
) -> list[Drawing]:
    stmt = select(Drawing).where(Drawing.distributor_id == distributor_id, Drawing.reseller_id == reseller_id)
    if status == "held":  # a held order past its expiry is expired from that instant (SPEC §16)
        stmt = stmt.where(Drawing.status == "held", Drawing.hold_expires_at > clock.now())
    elif status == "expired":
        stmt = stmt.where(
            or_(Drawing.status == "expired", and_(Drawing.status == "held", Drawing.hold_expires_at <= clock.now()))
        )
    elif status:
        stmt = stmt.where(Drawing.status == status)
    if after_reference is not None:
        stmt = stmt.where(Drawing.reference > after_reference)
    return list(session.scalars(stmt.order_by(Drawing.reference).limit(limit)))


def allocations_of(session: Session, distributor_id: str, reseller_id: str, references: list[str]) -> list[Allocation]:
    if not references:
        return []
    return list(
        session.scalars(
            select(Allocation)
            .where(
                Allocation.distributor_id == distributor_id,
                Allocation.reseller_id == reseller_id,
                Allocation.drawing_reference.in_(references),
            )
            .order_by(Allocation.drawing_reference, Allocation.position)
        )
    )


def get_release(
    session: Session, distributor_id: str, reseller_id: str, drawing_reference: str, reference: str
) -> Release | None:
    return session.get(Release, (distributor_id, reseller_id, drawing_reference, reference))


def entries_of(
    session: Session,
    distributor_id: str,
    reseller_id: str,
    *,
    after_seq: int | None = None,
    limit: int | None = None,
    until: datetime | None = None,
) -> list[LedgerEntry]:
    stmt = select(LedgerEntry).where(
        LedgerEntry.distributor_id == distributor_id, LedgerEntry.reseller_id == reseller_id
    )
    if after_seq is not None:
        stmt = stmt.where(LedgerEntry.seq > after_seq)
    if until is not None:
        stmt = stmt.where(LedgerEntry.at <= until)
    stmt = stmt.order_by(LedgerEntry.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def stream_entries(session: Session, distributor_id: str | None) -> Iterator[LedgerEntry]:
    stmt = select(LedgerEntry).order_by(LedgerEntry.distributor_id, LedgerEntry.reseller_id, LedgerEntry.seq)
    if distributor_id:
        stmt = stmt.where(LedgerEntry.distributor_id == distributor_id)
    yield from session.scalars(stmt.execution_options(yield_per=5000))


def stream_lines(session: Session, distributor_id: str | None) -> Iterator[Line]:
    stmt = select(Line).order_by(Line.distributor_id, Line.reseller_id, Line.grant_seq)
    if distributor_id:
        stmt = stmt.where(Line.distributor_id == distributor_id)
    yield from session.scalars(stmt.execution_options(yield_per=5000))


def stream_drawings(session: Session, distributor_id: str | None) -> Iterator[Drawing]:
    stmt = select(Drawing).order_by(Drawing.distributor_id, Drawing.reseller_id, Drawing.reference)
    if distributor_id:
        stmt = stmt.where(Drawing.distributor_id == distributor_id)
    yield from session.scalars(stmt.execution_options(yield_per=5000))


def stream_allocations(session: Session, distributor_id: str | None) -> Iterator[Allocation]:
    stmt = select(Allocation).order_by(
        Allocation.distributor_id, Allocation.reseller_id, Allocation.drawing_reference, Allocation.line_id
    )
    if distributor_id:
        stmt = stmt.where(Allocation.distributor_id == distributor_id)
    yield from session.scalars(stmt.execution_options(yield_per=5000))


def stream_releases(session: Session, distributor_id: str | None) -> Iterator[Release]:
    stmt = select(Release).order_by(
        Release.distributor_id, Release.reseller_id, Release.drawing_reference, Release.reference
    )
    if distributor_id:
        stmt = stmt.where(Release.distributor_id == distributor_id)
    yield from session.scalars(stmt.execution_options(yield_per=5000))


def stream_resellers(session: Session, distributor_id: str | None) -> Iterator[Reseller]:
    stmt = select(Reseller).order_by(Reseller.distributor_id, Reseller.id)
    if distributor_id:
        stmt = stmt.where(Reseller.distributor_id == distributor_id)
    yield from session.scalars(stmt.execution_options(yield_per=5000))


def lines_of_many(session: Session, distributor_id: str, reseller_ids: list[str]) -> list[Line]:
    if not reseller_ids:
        return []
    return list(
        session.scalars(
            fresh(
                session,
                select(Line)
                .where(Line.distributor_id == distributor_id, Line.reseller_id.in_(reseller_ids))
                .order_by(Line.reseller_id, Line.grant_seq),
            )
        )
    )


def line_rows_of_many(session: Session, distributor_id: str, reseller_ids: list[str]) -> list[Any]:
    """:func:`lines_of_many` as plain rows (every column of ``line``, same order), for a batch that
    only reads them: no ORM objects to build, track and expire."""
    if not reseller_ids:
        return []
    from creditlines.db.bulk import one_of

    table = Line.__table__
    stmt = (
        select(table)
        .where(
            table.c.distributor_id == distributor_id, one_of(table.c.reseller_id, reseller_ids, session.connection())
        )
        .order_by(table.c.reseller_id, table.c.grant_seq)
    )
    return list(session.execute(fresh(session, stmt)))


def reseller_balances(distributor_id: str, day: date) -> Subquery:
    """Per reseller: limit of the lines current on local date ``day``, and what weighs on
    them (an active line past its end still weighs under ``transfer_to_base``) — the same
    rules as ``eligibility.totals``, in SQL, for filtering whole lists."""
    from sqlalchemy import case, func

    current = and_(
        Line.kind != "financing",  # a financing line carries one order, never the reseller's totals
        Line.status == "active",
        Line.valid_from <= day,
        or_(Line.valid_until.is_(None), Line.valid_until >= day),
    )
    weighs = and_(
        Line.status == "active",
        or_(
            and_(Line.kind != "financing", or_(Line.valid_until.is_(None), Line.valid_until >= day)),
            and_(Line.valid_until < day, Line.on_expiry == "transfer_to_base"),
        ),
    )
    return (
        select(
            Line.reseller_id.label("reseller_id"),
            func.sum(case((current, Line.limit_minor), else_=0)).label("limit_minor"),
            func.sum(case((weighs, Line.drawn_minor), else_=0)).label("drawn_minor"),
        )
        .where(Line.distributor_id == distributor_id)
        .group_by(Line.reseller_id)
        .subquery()
    )


def list_resellers_filtered(
    session: Session,
    distributor_id: str,
    *,
    day: date,
    after_id: str | None,
    limit: int,
    status: str | None = None,
    over_limit: bool | None = None,
) -> list[Reseller]:
    stmt = select(Reseller).where(Reseller.distributor_id == distributor_id)
    if over_limit is not None:
        balances = reseller_balances(distributor_id, day)
        stmt = stmt.join(balances, balances.c.reseller_id == Reseller.id)
        over = balances.c.drawn_minor > balances.c.limit_minor
        stmt = stmt.where(over if over_limit else ~over)
    if status:
        stmt = stmt.where(Reseller.status == status)
    if after_id is not None:
        stmt = stmt.where(Reseller.id > after_id)
    return list(session.scalars(stmt.order_by(Reseller.id).limit(limit)))


def resellers_by_ids(session: Session, distributor_id: str, ids: list[str]) -> list[Reseller]:
    found: list[Reseller] = []
    for i in range(0, len(ids), 500):
        found += session.scalars(
            select(Reseller).where(Reseller.distributor_id == distributor_id, Reseller.id.in_(ids[i : i + 500]))
        )
    return found


def lock_resellers(session: Session, distributor_id: str, reseller_ids: list[str]) -> list[Reseller]:
    """Lock many resellers at once, always in id order (no deadlock between batches)."""
    stmt = (
        select(Reseller)
        .where(Reseller.distributor_id == distributor_id, Reseller.id.in_(reseller_ids))
        .order_by(Reseller.id)
    )
    return list(session.scalars(locked(session, stmt)))


def lock_reseller_rows(session: Session, distributor_id: str, reseller_ids: list[str]) -> list[Any]:
    """:func:`lock_resellers` as plain rows (``id``, ``ledger_seq``): the same lock, in id order."""
    from creditlines.db.bulk import one_of

    table = Reseller.__table__
    stmt = (
        select(table.c.id, table.c.ledger_seq)
        .where(table.c.distributor_id == distributor_id, one_of(table.c.id, reseller_ids, session.connection()))
        .order_by(table.c.id)
    )
    return list(session.execute(locked(session, stmt)))


def require_reseller(session: Session, distributor_id: str, reseller_id: str, *, lock: bool) -> Reseller:
    """The reseller, locked when ``lock`` (FOR UPDATE on PostgreSQL); ``not_found`` when absent."""
    reseller = get_reseller(session, distributor_id, reseller_id, lock=lock)
    if reseller is None:
        raise NotFound(f"reseller {reseller_id!r} does not exist at {distributor_id!r}")
    return reseller

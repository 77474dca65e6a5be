"""All SQL of the programmes."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from creditlines.db.engine import fresh, is_postgresql, locked
from creditlines.ledger.models import Line
from creditlines.programmes.models import Programme, PurchaseEvent


def get_programme(
    session: Session, distributor_id: str, vendor_id: str, programme_id: str, *, lock: bool = False
) -> Programme | None:
    stmt = select(Programme).where(
        Programme.distributor_id == distributor_id, Programme.vendor_id == vendor_id, Programme.id == programme_id
    )
    if lock:
        stmt = locked(session, stmt)
    return session.scalars(stmt).one_or_none()


def programmes_of_vendor(
    session: Session, vendor_id: str, *, distributor_id: str | None = None, lock: bool = False
) -> list[Programme]:
    stmt = select(Programme).where(Programme.vendor_id == vendor_id)
    if distributor_id is not None:
        stmt = stmt.where(Programme.distributor_id == distributor_id)
    stmt = stmt.order_by(Programme.distributor_id, Programme.id)  # the lock order: programmes by id
    if lock:
        stmt = locked(session, stmt)
    return list(session.scalars(stmt))


def _counts_now(day: date) -> ColumnElement[bool]:
    return and_(Line.status == "active", Line.valid_until >= day)


def _of(programme: Programme) -> ColumnElement[bool]:
    return and_(
        Line.distributor_id == programme.distributor_id,
        Line.vendor_id == programme.vendor_id,
        Line.programme_id == programme.id,
    )


def utilisation(session: Session, programme: Programme, day: date) -> tuple[int, int, int]:
    """(beneficiaries, total limit) of the lines active on ``day``, and what is drawn on all its lines."""
    now = _counts_now(day)
    row = session.execute(
        select(
            func.coalesce(func.sum(case((now, 1), else_=0)), 0),
            func.coalesce(func.sum(case((now, Line.limit_minor), else_=0)), 0),
            func.coalesce(func.sum(Line.drawn_minor), 0),
        ).where(_of(programme), or_(Line.status == "active", Line.drawn_minor > 0))
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def active_line_of(session: Session, programme: Programme, reseller_id: str, day: date) -> Line | None:
    return session.scalars(
        fresh(
            session,
            select(Line)
            .where(_of(programme), Line.reseller_id == reseller_id, _counts_now(day))
            .order_by(Line.grant_seq.desc())
            .limit(1),
        )
    ).one_or_none()


def lines_of_programme(
    session: Session, programme: Programme, *, after: tuple[str, str] | None, limit: int, status: str | None = None
) -> list[Line]:
    stmt = select(Line).where(_of(programme))
    if status:
        stmt = stmt.where(Line.status == status)
    if after is not None:
        stmt = stmt.where(or_(Line.reseller_id > after[0], and_(Line.reseller_id == after[0], Line.id > after[1])))
    return list(session.scalars(stmt.order_by(Line.reseller_id, Line.id).limit(limit)))


def active_lines_of_programme(session: Session, programme: Programme, reseller_id: str | None = None) -> list[Line]:
    stmt = select(Line).where(_of(programme), Line.status == "active")
    if reseller_id is not None:
        stmt = stmt.where(Line.reseller_id == reseller_id)
    return list(session.scalars(fresh(session, stmt.order_by(Line.reseller_id, Line.id))))


def claim_event(session: Session, values: dict[str, Any]) -> bool:
    """Insert the event unless its id is known; True when this call claimed it.

    On PostgreSQL a copy arriving while the first is still being processed waits here for it
    to commit (then finds it) or roll back (then claims it): never two effects.
    """
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    stmt = (
        insert(PurchaseEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["distributor_id", "event_id"])
        .returning(PurchaseEvent.event_id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def get_event(session: Session, distributor_id: str, event_id: str) -> PurchaseEvent | None:
    return session.get(PurchaseEvent, (distributor_id, event_id))

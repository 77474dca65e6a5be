"""All SQL of the partnerships."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from creditlines.db.engine import fresh, is_postgresql
from creditlines.partnerships.models import Partnership, PartnershipEntry


def get(session: Session, distributor_id: str, vendor_id: str, *, lock: str | None = None) -> Partnership | None:
    """The partnership row. ``lock="share"`` keeps it from being ended until the transaction ends
    (grants take it); ``lock="update"`` is taken by whoever changes it. Always re-read from the
    database, never from the session's identity map, so a decision rests on what the lock protects."""
    stmt = select(Partnership).where(Partnership.distributor_id == distributor_id, Partnership.vendor_id == vendor_id)
    if lock and is_postgresql(session):
        stmt = stmt.with_for_update(read=lock == "share", key_share=lock == "update")
    return session.scalars(fresh(session, stmt)).one_or_none()


def insert_if_absent(session: Session, values: dict[str, Any]) -> bool:
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    stmt = (
        insert(Partnership)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["distributor_id", "vendor_id"])
        .returning(Partnership.vendor_id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def of_distributor(session: Session, distributor_id: str, *, after: str | None, limit: int) -> list[Partnership]:
    stmt = select(Partnership).where(Partnership.distributor_id == distributor_id)
    if after is not None:
        stmt = stmt.where(Partnership.vendor_id > after)
    return list(session.scalars(stmt.order_by(Partnership.vendor_id).limit(limit)))


def of_vendor(session: Session, vendor_id: str, *, after: str | None, limit: int) -> list[Partnership]:
    stmt = select(Partnership).where(Partnership.vendor_id == vendor_id)
    if after is not None:
        stmt = stmt.where(Partnership.distributor_id > after)
    return list(session.scalars(stmt.order_by(Partnership.distributor_id).limit(limit)))


def entries(session: Session, distributor_id: str, vendor_id: str) -> list[PartnershipEntry]:
    return list(
        session.scalars(
            select(PartnershipEntry)
            .where(PartnershipEntry.distributor_id == distributor_id, PartnershipEntry.vendor_id == vendor_id)
            .order_by(PartnershipEntry.seq)
        )
    )

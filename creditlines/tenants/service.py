"""Distributors and vendors."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.db.engine import is_postgresql
from creditlines.errors import Conflict, ValidationFailed
from creditlines.money import currency as known_currency
from creditlines.tenants.models import Distributor, Vendor


def _insert_if_absent(session: Session, model: type[Distributor] | type[Vendor], values: dict[str, object]) -> bool:
    """Insert the row unless its id exists; True when this call created it. Identical creations
    at once: one inserts, the others wait for it on PostgreSQL and find it (never a
    UniqueViolation escaping as a 500, SPEC §23)."""
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=["id"]).returning(model.id)
    return session.execute(stmt).scalar_one_or_none() is not None


def _check_name(value: str) -> None:
    validation.text(value, "name", max_length=validation.NAME_MAX)


def create_distributor(
    session: Session, *, id: str, name: str, currency: str, timezone: str
) -> tuple[Distributor, bool]:
    """Create a distributor. The same body again returns it (created False); another body conflicts
    (409), also when both arrive at once."""
    validation.tenant_id(id, "distributor id")
    _check_name(name)
    known_currency(currency)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"{timezone!r} is not an IANA time zone") from None
    created = _insert_if_absent(
        session, Distributor, dict(id=id, name=name, currency=currency, timezone=timezone, created_at=clock.now())
    )
    existing = session.get(Distributor, id, populate_existing=True)
    assert existing is not None
    if not created and (existing.name, existing.currency, existing.timezone) != (name, currency, timezone):
        raise Conflict(f"distributor {id!r} exists with other settings; its currency and time zone never change")
    return existing, created


def create_vendor(session: Session, *, id: str, name: str) -> tuple[Vendor, bool]:
    validation.identifier(id, "vendor id")
    _check_name(name)
    created = _insert_if_absent(session, Vendor, dict(id=id, name=name, created_at=clock.now()))
    existing = session.get(Vendor, id, populate_existing=True)
    assert existing is not None
    if not created and existing.name != name:
        raise Conflict(f"vendor {id!r} exists with another name")
    return existing, created


def list_distributors(session: Session) -> list[Distributor]:
    return list(session.scalars(select(Distributor).order_by(Distributor.id)))


def list_vendors(session: Session) -> list[Vendor]:
    return list(session.scalars(select(Vendor).order_by(Vendor.id)))

"""Distributors and vendors."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.errors import Conflict, ValidationFailed
from creditlines.money import currency as known_currency
from creditlines.tenants.models import Distributor, Vendor


def _check_name(value: str) -> None:
    validation.text(value, "name", max_length=validation.NAME_MAX)


def create_distributor(
    session: Session, *, id: str, name: str, currency: str, timezone: str
) -> tuple[Distributor, bool]:
    """Create a distributor. The same body again returns it (created False); another body conflicts."""
    validation.tenant_id(id, "distributor id")
    _check_name(name)
    known_currency(currency)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"{timezone!r} is not an IANA time zone") from None
    existing = session.get(Distributor, id)
    if existing is not None:
        if (existing.name, existing.currency, existing.timezone) != (name, currency, timezone):
            raise Conflict(f"distributor {id!r} exists with other settings; its currency and time zone never change")
        return existing, False
    distributor = Distributor(id=id, name=name, currency=currency, timezone=timezone, created_at=clock.now())
    session.add(distributor)
    session.flush()
    return distributor, True


def create_vendor(session: Session, *, id: str, name: str) -> tuple[Vendor, bool]:
    validation.identifier(id, "vendor id")
    _check_name(name)
    existing = session.get(Vendor, id)
    if existing is not None:
        if existing.name != name:
            raise Conflict(f"vendor {id!r} exists with another name")
        return existing, False
    vendor = Vendor(id=id, name=name, created_at=clock.now())
    session.add(vendor)
    session.flush()
    return vendor, True


def list_distributors(session: Session) -> list[Distributor]:
    return list(session.scalars(select(Distributor).order_by(Distributor.id)))


def list_vendors(session: Session) -> list[Vendor]:
    return list(session.scalars(select(Vendor).order_by(Vendor.id)))

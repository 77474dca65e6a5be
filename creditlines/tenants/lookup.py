"""Lookups every service starts with: the distributor (cached, immutable), and the vendor,
refused with ``not_found`` when absent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from creditlines.errors import NotFound
from creditlines.tenants.models import Distributor, Vendor


@dataclass(frozen=True)
class DistributorInfo:
    """What the ledger needs of a distributor; immutable, so cached per process."""

    id: str
    name: str
    currency: str
    timezone: str


def get_distributor(session: Session, distributor_id: str) -> DistributorInfo | None:
    cache: dict[str, DistributorInfo] | None = session.info.get("distributors")
    if cache is not None and distributor_id in cache:
        return cache[distributor_id]
    row = session.get(Distributor, distributor_id)
    if row is None:
        return None
    info = DistributorInfo(row.id, row.name, row.currency, row.timezone)
    if cache is not None:
        cache[distributor_id] = info
    return info


def get_vendor(session: Session, vendor_id: str) -> Vendor | None:
    return session.get(Vendor, vendor_id)


def require_distributor(session: Session, distributor_id: str) -> DistributorInfo:
    distributor = get_distributor(session, distributor_id)
    if distributor is None:
        raise NotFound(f"distributor {distributor_id!r} does not exist")
    return distributor

"""Lookups every service starts with: the distributor (cached, immutable), the vendor and the
reseller, refused with ``not_found`` when absent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from creditlines.errors import NotFound
from creditlines.tenants.models import Distributor, Vendor

if TYPE_CHECKING:  # the ledger imports this module: no import of the ledger package at load time
    from creditlines.ledger.models import Reseller


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


def require_reseller(session: Session, distributor_id: str, reseller_id: str, *, lock: bool) -> Reseller:
    from creditlines.ledger import repository as ledger_repo

    reseller = ledger_repo.get_reseller(session, distributor_id, reseller_id, lock=lock)
    if reseller is None:
        raise NotFound(f"reseller {reseller_id!r} does not exist at {distributor_id!r}")
    return reseller

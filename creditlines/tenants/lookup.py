"""Lookups every service starts with: the distributor (cached, immutable) and the reseller,
refused with ``not_found`` when absent."""

from __future__ import annotations

from sqlalchemy.orm import Session

from creditlines.errors import NotFound
from creditlines.ledger import repository as ledger_repo
from creditlines.ledger.models import Reseller

DistributorInfo = ledger_repo.DistributorInfo


def require_distributor(session: Session, distributor_id: str) -> DistributorInfo:
    distributor = ledger_repo.get_distributor(session, distributor_id)
    if distributor is None:
        raise NotFound(f"distributor {distributor_id!r} does not exist")
    return distributor


def require_reseller(session: Session, distributor_id: str, reseller_id: str, *, lock: bool) -> Reseller:
    reseller = ledger_repo.get_reseller(session, distributor_id, reseller_id, lock=lock)
    if reseller is None:
        raise NotFound(f"reseller {reseller_id!r} does not exist at {distributor_id!r}")
    return reseller

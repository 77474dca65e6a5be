"""factory-boy factories for the tenants, and helpers that go through the services."""

from __future__ import annotations

import factory
from moneyed import Money

from creditlines import clock, ledger
from creditlines.db.engine import UnitOfWork
from creditlines.partnerships import service as partnerships
from creditlines.tenants.models import Distributor, Vendor


class DistributorFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = Distributor
        sqlalchemy_session_persistence = "flush"

    id = factory.Sequence(lambda n: f"dist-{n}")
    name = factory.LazyAttribute(lambda o: o.id.title())
    currency = "EUR"
    timezone = "Europe/Paris"
    created_at = factory.LazyFunction(clock.now)


class VendorFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = Vendor
        sqlalchemy_session_persistence = "flush"

    id = factory.Sequence(lambda n: f"vendor-{n}")
    name = factory.LazyAttribute(lambda o: o.id.title())
    created_at = factory.LazyFunction(clock.now)


def eur(amount: str | int) -> Money:
    return Money(str(amount), "EUR")


def make_world(uow: UnitOfWork, *, admit: tuple[str, ...] = ("microsoft", "hp"), **distributor) -> None:
    """Actebis (EUR, Paris) with Microsoft and HP as vendors, both admitted there (``admit``)."""
    with uow.write() as s:
        DistributorFactory._meta.sqlalchemy_session = s
        VendorFactory._meta.sqlalchemy_session = s
        DistributorFactory(
            id=distributor.get("id", "actebis"),
            name=distributor.get("name", "Actebis"),
            currency=distributor.get("currency", "EUR"),
            timezone=distributor.get("timezone", "Europe/Paris"),
        )
        VendorFactory(id="microsoft", name="Microsoft")
        VendorFactory(id="hp", name="HP")
        for vendor_id in admit:
            partnerships.admit(
                s,
                distributor_id=distributor.get("id", "actebis"),
                vendor_id=vendor_id,
                max_line_limit=None,
                requires_approval=False,
                note=None,
                actor="test",
            )


def make_reseller(
    uow: UnitOfWork,
    reseller_id: str,
    base_limit: str | int | None = None,
    *,
    distributor_id: str = "actebis",
    currency: str = "EUR",
) -> None:
    with uow.write() as s:
        ledger.upsert_reseller(
            s, distributor_id=distributor_id, reseller_id=reseller_id, name=f"Reseller {reseller_id}", actor="test"
        )
        if base_limit is not None:
            ledger.set_base_limit(
                s,
                distributor_id=distributor_id,
                reseller_id=reseller_id,
                limit=Money(str(base_limit), currency),
                reason="opening",
                actor="test",
            )

"""Every ORM model, imported once so that the metadata is complete (Alembic, tests)."""

from creditlines.auth.models import ApiKey
from creditlines.db.base import Base
from creditlines.decisions.models import CreditPolicy, InsuranceCover, LimitRequest, Nomination, PolicyRequest
from creditlines.events.models import Event, Webhook, WebhookAttempt
from creditlines.ledger.models import Allocation, Drawing, Financing, LedgerEntry, Line, Release, Reseller
from creditlines.losses.models import Claim, FunderStatement, ResellerDefault, WriteOff, WriteOffPart
from creditlines.partnerships.models import Partnership, PartnershipEntry
from creditlines.programmes.models import Programme, PurchaseEvent
from creditlines.tenants.models import Distributor, Vendor

__all__ = [
    "ApiKey",
    "Allocation",
    "Base",
    "Claim",
    "FunderStatement",
    "ResellerDefault",
    "WriteOff",
    "WriteOffPart",
    "CreditPolicy",
    "InsuranceCover",
    "LimitRequest",
    "Nomination",
    "PolicyRequest",
    "Distributor",
    "Drawing",
    "Event",
    "Financing",
    "LedgerEntry",
    "Partnership",
    "PartnershipEntry",
    "Programme",
    "PurchaseEvent",
    "Line",
    "Release",
    "Reseller",
    "Vendor",
    "Webhook",
    "WebhookAttempt",
]

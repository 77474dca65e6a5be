"""Bodies of the platform operator's resources: distributors, vendors, API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictStr

from api.schemas.common import DEMO_DISTRIBUTOR, DEMO_VENDOR, Id, Strict, example
from creditlines.validation import (
    Label,
    Name,
    TenantId,
)


class DistributorIn(Strict):
    id: TenantId
    name: Name
    currency: Annotated[StrictStr, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$", examples=["EUR"])]
    timezone: Annotated[
        StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9/_+-]+$", examples=["Europe/Paris"])
    ]


class DistributorOut(BaseModel):
    id: str
    name: str
    currency: str
    timezone: str
    created_at: datetime


class VendorIn(Strict):
    id: Id
    name: Name


class VendorOut(BaseModel):
    id: str
    name: str
    created_at: datetime


class ApiKeyIn(Strict):
    role: Literal["admin", "credit_officer", "integration", "partner_manager"]
    distributor_id: Id | None = None
    vendor_id: Id | None = None
    label: Label | None = None


class ApiKeyOut(BaseModel):
    id: str
    role: str
    distributor_id: str | None
    vendor_id: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown once: store it now.")


DISTRIBUTOR_EXAMPLES = {
    "bechtle": example(
        "A new distributor, in euros, on Paris time",
        {"id": "bechtle", "name": "Bechtle", "currency": "EUR", "timezone": "Europe/Paris"},
        role="admin",
    ),
}

VENDOR_EXAMPLES = {
    "lenovo": example("A new vendor", {"id": "lenovo", "name": "Lenovo"}, role="admin"),
}

API_KEY_EXAMPLES = {
    "erp": example(
        "A key for Actebis' ERP (integration: eligibility, drawings, releases, purchase events)",
        {"role": "integration", "distributor_id": DEMO_DISTRIBUTOR, "label": "SAP production"},
        role="admin",
    ),
    "partner_manager": example(
        "A key for Microsoft's partner manager",
        {"role": "partner_manager", "vendor_id": DEMO_VENDOR, "label": "channel team"},
        role="admin",
    ),
}

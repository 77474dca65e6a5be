"""Bodies of the platform operator's resources: distributors, vendors, API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictStr

from api.schemas.common import Id, Strict
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

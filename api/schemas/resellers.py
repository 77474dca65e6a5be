"""Bodies of a distributor's resellers: the reseller, its base limit and holds, its lines and
availability, its ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import MoneyIn, MoneyOut, Strict
from api.schemas.terms import TermsDays
from creditlines.validation import (
    Name,
    Reason,
)


class ResellerIn(Strict):
    name: Name
    payment_terms_days: TermsDays | None = Field(
        None, description="The reseller's own payment terms (null: the distributor's); left out: unchanged"
    )


class ResellerOut(BaseModel):
    distributor_id: str
    id: str
    name: str
    status: Literal["active", "on_hold", "terminated"]
    status_reason: str | None
    currency: str
    total_limit: MoneyOut
    total_drawn: MoneyOut
    total_available: MoneyOut
    over_limit: bool
    payment_terms_days: int | None = None
    overdue: MoneyOut
    oldest_overdue_days: int | None
    overdue_stop: bool = Field(description="A stop was announced and not yet cleared (SPEC §18)")
    created_at: datetime
    updated_at: datetime


class ResellerPage(BaseModel):
    items: list[ResellerOut]
    next_cursor: str | None


class BaseLimitIn(Strict):
    limit: MoneyIn
    reason: Reason


class ReasonIn(Strict):
    reason: Reason


class LineOut(BaseModel):
    id: str
    kind: Literal["base", "programme"]
    programme_id: str | None
    vendor_id: str | None
    funder: str
    limit: MoneyOut
    drawn: MoneyOut
    available: MoneyOut
    valid_from: date
    valid_until: date | None
    status: Literal["active", "expired", "revoked", "pending"]
    usable_for: Literal["any", "vendor_products"]
    on_expiry: Literal["transfer_to_base", "run_off"] | None


class AvailabilityOut(BaseModel):
    distributor_id: str
    reseller_id: str
    status: str
    as_of: datetime
    currency: str
    lines: list[LineOut]
    total_limit: MoneyOut
    total_drawn: MoneyOut
    total_available: MoneyOut
    over_limit: bool
    overdue: MoneyOut
    oldest_overdue_days: int | None

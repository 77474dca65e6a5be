"""Bodies of a distributor's resellers: the reseller, its base limit and holds, its lines and
availability, its ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import MoneyIn, MoneyOut, Strict, eur, example
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
    kind: Literal["base", "programme", "financing"]
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


RESELLER_EXAMPLES = {
    "rename": example(
        "The reseller's name as the ERP knows it (a new customer number creates the reseller, with no limit)",
        {"name": "Informatique Dupont Lyon"},
        role="credit_officer",
    ),
}

BASE_LIMIT_EXAMPLES = {
    "review": example(
        "The annual review sets the base limit to EUR 12,000",
        {"limit": eur("12000.00"), "reason": "annual review: insurer cover EUR 12,000"},
        role="credit_officer",
        description="Above the distributor's approval threshold, if it has one, a `202` with a pending limit request.",
    ),
}

HOLD_EXAMPLES = {
    "overdue": example(
        "Put the account on hold: no drawing until it is lifted",
        {"reason": "two invoices overdue by more than 60 days"},
        role="credit_officer",
    ),
}

LIFT_HOLD_EXAMPLES = {
    "paid": example(
        "Lift the hold (the body is optional)",
        {"reason": "overdue invoices paid"},
        role="credit_officer",
    ),
}

TERMINATION_EXAMPLES = {
    "insolvency": example(
        "End the relationship: every line closed, no drawing ever again",
        {"reason": "insolvency: receivership opened"},
        role="credit_officer",
    ),
}

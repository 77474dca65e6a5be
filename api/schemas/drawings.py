"""Bodies of the hot path: eligibility checks, drawings and their releases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import DEMO_DRAWING, DEMO_VENDOR, Id, MoneyIn, MoneyOut, Strict, eur, example
from api.schemas.terms import StopInDecisionOut
from creditlines.validation import (
    Day,
    Reference,
)


class EligibilityIn(Strict):
    amount: MoneyIn
    vendor_id: Id | None = None


class PlanItemOut(BaseModel):
    line_id: str
    kind: str
    funder: str
    amount: MoneyOut


class ReasonOut(BaseModel):
    code: str
    message: str


class DecisionOut(BaseModel):
    eligible: bool
    requested: MoneyOut
    available: MoneyOut
    shortfall: MoneyOut
    plan: list[PlanItemOut]
    reasons: list[ReasonOut]
    overdue_stop: StopInDecisionOut | None = None


class DrawingIn(Strict):
    reference: Reference
    amount: MoneyIn
    vendor_id: Id | None = None
    on_refusal: Literal["refuse", "hold"] = Field(
        "refuse", description="hold: a drawing refused for insufficient credit or an account on hold waits (202)"
    )
    invoice_date: Day | None = Field(None, description="The invoice's local date (default: the day of posting)")
    due_on: Day | None = Field(None, description="≥ invoice_date (default: invoice_date + the reseller's terms)")


class AllocationOut(BaseModel):
    line_id: str
    funder: str
    amount: MoneyOut
    outstanding: MoneyOut


class HoldOut(BaseModel):
    reasons: list[str]
    shortfall: MoneyOut | None
    held_at: datetime
    expires_at: datetime
    released_at: datetime | None


class DrawingOut(BaseModel):
    reference: str
    amount: MoneyOut
    outstanding: MoneyOut
    status: Literal["open", "settled", "held", "cancelled", "expired", "written_off"]
    vendor_id: str | None
    allocations: list[AllocationOut]
    created_at: datetime
    hold: HoldOut | None = None
    invoice_date: date
    due_on: date


class DrawingPage(BaseModel):
    items: list[DrawingOut]
    next_cursor: str | None


class ReleaseIn(Strict):
    reference: Reference
    amount: MoneyIn
    kind: Literal["payment", "cancellation", "credit_note", "financier_payment"]


ELIGIBILITY_EXAMPLES = {
    "order": example(
        "Can the reseller order EUR 1,500 of hardware?",
        {"amount": eur("1500.00")},
        role="integration",
    ),
    "vendor_order": example(
        "The same order, of Microsoft products (its supplementary line counts too)",
        {"amount": eur("1500.00"), "vendor_id": DEMO_VENDOR},
        role="credit_officer",
    ),
}

DRAWING_EXAMPLES = {
    "order": example(
        "The ERP posts a sales order of EUR 1,500",
        {"reference": DEMO_DRAWING, "amount": eur("1500.00")},
        role="integration",
    ),
    "vendor_order": example(
        "An order of Microsoft products: the supplementary line is drawn first",
        {"reference": "SO-2026-000124", "amount": eur("800.00"), "vendor_id": DEMO_VENDOR},
        role="integration",
    ),
    "above_availability": example(
        "An order far above what the reseller has: refused, nothing drawn",
        {"reference": "SO-2026-000125", "amount": eur("900000.00")},
        role="integration",
        refusal=(409, "insufficient_credit"),
        description="A `409` problem `insufficient_credit` carrying `available` and `shortfall`.",
    ),
}

RELEASE_EXAMPLES = {
    "payment": example(
        "The reseller pays EUR 500 of the order",
        {"reference": "PAY-2026-000042", "amount": eur("500.00"), "kind": "payment"},
        role="integration",
        description=f"Releases part of the drawing `{DEMO_DRAWING}` posted by post_drawing's example.",
    ),
    "credit_note": example(
        "A credit note of EUR 120 for a returned item",
        {"reference": "AV-2026-000007", "amount": eur("120.00"), "kind": "credit_note"},
        role="integration",
    ),
}

"""Bodies of the hot path: eligibility checks, drawings and their releases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import Id, MoneyIn, MoneyOut, Strict
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
    invoice_date: Day | None = Field(None, description="The invoice's local date (default: the day of posting)")
    due_on: Day | None = Field(None, description="≥ invoice_date (default: invoice_date + the reseller's terms)")


class AllocationOut(BaseModel):
    line_id: str
    funder: str
    amount: MoneyOut
    outstanding: MoneyOut


class DrawingOut(BaseModel):
    reference: str
    amount: MoneyOut
    outstanding: MoneyOut
    status: Literal["open", "settled"]
    vendor_id: str | None
    allocations: list[AllocationOut]
    created_at: datetime
    invoice_date: date
    due_on: date


class DrawingPage(BaseModel):
    items: list[DrawingOut]
    next_cursor: str | None


class ReleaseIn(Strict):
    reference: Reference
    amount: MoneyIn
    kind: Literal["payment", "cancellation", "credit_note"]

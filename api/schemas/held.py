"""Request and response models of held orders and financings (SPEC §16, §17)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas.common import MoneyIn, MoneyOut, Strict, eur, example
from api.schemas.drawings import DrawingOut
from creditlines.validation import Reference


class HeldOrderOut(BaseModel):
    reseller_id: str
    drawing: DrawingOut
    available_now: MoneyOut
    shortfall_now: MoneyOut


class HeldOrderPage(BaseModel):
    items: list[HeldOrderOut]
    next_cursor: str | None


Financier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@-]+$")]


class FinancingIn(Strict):
    reference: Reference
    financier: Financier
    amount: MoneyIn
    order_reference: Reference
    pay_within_hours: Annotated[int, Field(ge=1, le=720)] = 48


class FinancingOut(BaseModel):
    reference: str
    reseller_id: str
    financier: str
    amount: MoneyOut
    order_reference: str
    pay_within_hours: int
    line_id: str
    status: str = Field(description="open (not drawn yet), drawn, paid, overdue or lapsed")
    created_at: datetime
    drawn_at: datetime | None
    due_at: datetime | None
    paid_at: datetime | None
    overdue_at: datetime | None
    overdue: MoneyOut


class FinancierReportOut(BaseModel):
    financier: str
    financed_count: int
    financed_amount: MoneyOut
    paid_on_time_count: int
    paid_on_time_share: str = Field(description="paid within the promised hours / drawn and due or paid, 0.0000–1.0000")
    median_hours_to_pay: str | None
    overdue_count: int
    overdue_now: MoneyOut


class FinancingReportOut(BaseModel):
    since: date
    items: list[FinancierReportOut]


FINANCING_EXAMPLES = {
    "microsoft_financing": example(
        "The end customer took Microsoft Financing for order SO-2026-000777: it will not use the line",
        {
            "reference": "MF-2026-0001",
            "financier": "microsoft-financing",
            "amount": eur("2000.00"),
            "order_reference": "SO-2026-000777",
            "pay_within_hours": 48,
        },
        role="credit_officer",
        description="Above the approval threshold, the ERP's integration key is refused (`403`).",
    ),
}

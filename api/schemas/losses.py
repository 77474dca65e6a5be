"""Bodies of the losses (SPEC §20, §21): default, write-offs, claims and their settlement.

(The statements are served as canonical JSON bytes, documented in the route, not as a model.)"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import MoneyIn, MoneyOut, Strict, example
from creditlines.validation import Day, Reason, Reference

ClaimStatus = Literal["open", "paid", "rejected"]


class DefaultIn(Strict):
    reason: Reason
    declared_on: Day


class DefaultOut(BaseModel):
    reseller_id: str
    status: str = Field(description="terminated")
    in_default: bool = True
    reason: str
    declared_on: date
    declared_at: datetime
    declared_by: str


class WriteOffIn(Strict):
    reference: Reference
    reason: Reason
    drawings: list[Reference] | None = Field(
        None, max_length=1000, description="References of the drawings to write off (default: every one outstanding)"
    )


class ClaimOut(BaseModel):
    id: str
    distributor_id: str
    reseller_id: str
    funder_kind: Literal["vendor", "financier", "insurer"]
    funder: str
    amount: MoneyOut
    written_off: MoneyOut
    status: ClaimStatus
    write_off_reference: str
    created_at: datetime
    settled_at: datetime | None
    amount_paid: MoneyOut | None
    indemnity_rate: str | None = Field(None, description="Insurer claims: the percent applied to the insured part")
    settlement_reference: str | None = None


class ClaimPage(BaseModel):
    items: list[ClaimOut]
    next_cursor: str | None


class WriteOffPartOut(BaseModel):
    drawing_reference: str
    invoice_date: date
    line_id: str
    funder_kind: Literal["vendor", "financier", "distributor"]
    funder: str
    written_off: MoneyOut
    insured: MoneyOut
    insurer: str | None


class FunderLossOut(BaseModel):
    funder_kind: Literal["vendor", "financier", "distributor"]
    funder: str
    written_off: MoneyOut


class WriteOffOut(BaseModel):
    reference: str
    reseller_id: str
    reason: str
    written_off: MoneyOut
    by_funder: list[FunderLossOut]
    parts: list[WriteOffPartOut]
    claims: list[ClaimOut]
    own_loss: MoneyOut = Field(description="The distributor's own loss: its base part less the insurer's claim")
    created_at: datetime
    created_by: str


class SettlementIn(Strict):
    status: Literal["paid", "rejected"]
    amount_paid: MoneyIn | None = Field(None, description="paid: at most the claim's amount (default: all of it)")
    reference: Reference


DEFAULT_EXAMPLES = {
    "insolvency": example(
        "The reseller is in insolvency proceedings: it is terminated and marked in default",
        {"reason": "insolvency proceedings opened by the commercial court", "declared_on": "2026-03-01"},
        role="credit_officer",
    ),
}

WRITE_OFF_EXAMPLES = {
    "everything": example(
        "Write off every drawing still outstanding; the loss is split by funder into claims",
        {"reference": "WO-2026-001", "reason": "liquidation: nothing to recover"},
        role="credit_officer",
        description="Only a reseller in default (`409 not_in_default` otherwise).",
    ),
}

SETTLEMENT_EXAMPLES = {
    "paid": example(
        "The funder paid the claim in full",
        {"status": "paid", "reference": "PAY-2026-118"},
        role="credit_officer",
    ),
    "rejected": example(
        "The funder rejected the claim",
        {"status": "rejected", "reference": "REJ-2026-007"},
        role="credit_officer",
    ),
}

"""Bodies of the credit decisions (SPEC §12): credit policy, limit requests, nominations,
insurer cover and the cover-cuts report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import MoneyIn, MoneyOut, Strict
from api.schemas.terms import OverdueStopIn, OverdueStopOut, TermsDays
from creditlines.validation import (
    Day,
    Name,
    Reason,
    Reference,
)

RequestStatus = Literal["pending", "approved", "rejected", "expired"]
NominationStatus = Literal["pending", "approved", "rejected"]
RefusalCode = Literal["declined", "credit_risk", "insurer_cover", "commercial"]


class CreditPolicyPatch(Strict):
    approval_threshold: MoneyIn | None = Field(
        None, description="A raise of a base limit by more than this waits for a second officer (null: none)"
    )
    base_cap_policy: Literal["none", "cover_plus_discretionary"] | None = None
    discretionary: MoneyIn | None = Field(None, description="Under cover_plus_discretionary: the cap is cover + this")
    payment_terms_days: TermsDays | None = Field(None, description="SPEC §18: the default payment terms (0–365)")
    overdue_stop: OverdueStopIn | None = Field(None, description="SPEC §18: the overdue stop (null: none)")


class CreditPolicyOut(BaseModel):
    distributor_id: str
    approval_threshold: MoneyOut | None
    base_cap_policy: Literal["none", "cover_plus_discretionary"]
    discretionary: MoneyOut
    payment_terms_days: int = 30
    overdue_stop: OverdueStopOut | None = None
    updated_at: datetime | None
    updated_by: str | None


class LimitRequestOut(BaseModel):
    id: str
    reseller_id: str
    current: MoneyOut
    requested: MoneyOut
    reason: str
    requested_by: str
    status: RequestStatus
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decided_limit: MoneyOut | None
    decision_reason: str | None


class LimitRequestPage(BaseModel):
    items: list[LimitRequestOut]
    next_cursor: str | None


class DecisionIn(Strict):
    decision: Literal["approve", "reject"]
    limit: MoneyIn | None = Field(None, description="Approve for less: at most what was asked")
    reason: Reason
    refusal_code: RefusalCode | None = Field(
        None, description="Nominations only, with a rejection: the code the vendor sees (default `declined`)"
    )


class NominationOut(BaseModel):
    id: str
    vendor_id: str
    programme_id: str
    reseller_id: str
    limit: MoneyOut
    status: NominationStatus
    nominated_by: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decided_limit: MoneyOut | None
    decision_reason: str | None
    refusal_code: RefusalCode | None
    line_id: str | None


class NominationPage(BaseModel):
    items: list[NominationOut]
    next_cursor: str | None


class VendorNominationOut(BaseModel):
    """What the vendor sees of its nomination: the status, and a code for a refusal, never the text."""

    id: str
    programme_id: str
    reseller_id: str
    limit: MoneyOut
    status: NominationStatus
    created_at: datetime
    decided_at: datetime | None
    granted_limit: MoneyOut | None
    refusal_code: RefusalCode | None
    line_id: str | None


class VendorNominationPage(BaseModel):
    items: list[VendorNominationOut]
    next_cursor: str | None


class InsuranceIn(Strict):
    insurer: Name
    cover: MoneyIn = Field(description='"0.00": the cover was cancelled')
    decided_on: Day
    reference: Reference | None = None


class InsuranceOut(BaseModel):
    reseller_id: str
    insurer: str
    cover: MoneyOut
    previous_cover: MoneyOut | None
    decided_on: date
    reference: str | None
    recorded_at: datetime
    recorded_by: str


class InsuranceDecisionOut(InsuranceOut):
    changed: bool = Field(description="false: the same decision was already recorded; nothing changed")
    base_limit_before: MoneyOut
    base_limit_after: MoneyOut
    limit_cut: bool


class CoverCutOut(BaseModel):
    reseller_id: str
    reseller_name: str
    status: str
    insurer: str
    cut_on: date
    cover_before: MoneyOut
    cover_after: MoneyOut
    base_limit: MoneyOut
    total_drawn: MoneyOut
    vendor_lines_limit: MoneyOut
    vendor_funders: list[str]
    over_limit: bool


class CoverCutList(BaseModel):
    items: list[CoverCutOut]

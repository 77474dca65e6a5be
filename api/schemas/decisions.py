"""Bodies of the credit decisions (SPEC §12): credit policy, limit requests, nominations,
insurer cover and the cover-cuts report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import MoneyIn, MoneyOut, Strict
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
    indemnity_rate: str | int | None = Field(
        None,
        description='Percent (0–100, at most two decimals, e.g. "90") of an insured loss the insurer pays (SPEC §20)',
    )


class CreditPolicyOut(BaseModel):
    distributor_id: str
    approval_threshold: MoneyOut | None
    base_cap_policy: Literal["none", "cover_plus_discretionary"]
    discretionary: MoneyOut
    indemnity_rate: str = Field(description='Percent, e.g. "90"')
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
    effective_on: Day | None = Field(None, description="From this local date (default decided_on); later: scheduled")
    reference: Reference | None = None


class InsuranceOut(BaseModel):
    reseller_id: str
    insurer: str
    cover: MoneyOut
    previous_cover: MoneyOut | None
    decided_on: date
    effective_on: date
    reference: str | None
    recorded_at: datetime
    recorded_by: str


class InsuranceDecisionOut(InsuranceOut):
    changed: bool = Field(description="false: the same decision was already recorded; nothing changed")
    base_limit_before: MoneyOut
    base_limit_after: MoneyOut
    limit_cut: bool
    scheduled: bool = Field(description="true: takes effect after today; nothing changed yet")


class CoverCutOut(BaseModel):
    reseller_id: str
    reseller_name: str
    status: str
    insurer: str
    cut_on: date
    effective_on: date
    scheduled: bool
    cover_before: MoneyOut
    cover_after: MoneyOut
    base_limit: MoneyOut
    total_drawn: MoneyOut
    vendor_lines_limit: MoneyOut
    vendor_funders: list[str]
    over_limit: bool


class CoverCutList(BaseModel):
    items: list[CoverCutOut]

"""Bodies of the credit decisions (SPEC §12): credit policy, limit requests, nominations,
insurer cover and the cover-cuts report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import MoneyIn, MoneyOut, Strict, eur, example
from api.schemas.terms import OverdueStopIn, OverdueStopOut, TermsDays
from creditlines.validation import (
    Day,
    Name,
    Reason,
    Reference,
)

RequestStatus = Literal["pending", "approved", "rejected", "expired", "superseded"]
NominationStatus = Literal["pending", "approved", "rejected"]
RefusalCode = Literal["declined", "credit_risk", "insurer_cover", "commercial"]


class CreditPolicyPatch(Strict):
    approval_threshold: MoneyIn | None = Field(
        None, description="A raise of a base limit by more than this waits for a second officer (null: none)"
    )
    base_cap_policy: Literal["none", "cover_plus_discretionary"] | None = None
    discretionary: MoneyIn | None = Field(None, description="Under cover_plus_discretionary: the cap is cover + this")
    hold_days: int | None = Field(None, ge=1, le=90, description="Days a held order waits for credit (SPEC §16)")
    indemnity_rate: str | int | None = Field(
        None,
        description='Percent (0–100, at most two decimals, e.g. "90") of an insured loss the insurer pays (SPEC §20)',
    )
    payment_terms_days: TermsDays | None = Field(None, description="SPEC §18: the default payment terms (0–365)")
    overdue_stop: OverdueStopIn | None = Field(None, description="SPEC §18: the overdue stop (null: none)")


class CreditPolicyOut(BaseModel):
    distributor_id: str
    approval_threshold: MoneyOut | None
    base_cap_policy: Literal["none", "cover_plus_discretionary"]
    discretionary: MoneyOut
    indemnity_rate: str = Field(description='Percent, e.g. "90"')
    payment_terms_days: int = 30
    overdue_stop: OverdueStopOut | None = None
    updated_at: datetime | None
    updated_by: str | None
    hold_days: int = Field(7, description="Days a held order waits for credit before it expires")


class LimitRequestOut(BaseModel):
    id: str
    reseller_id: str
    current: MoneyOut
    live_limit: MoneyOut | None = Field(
        None, description="The reseller's base limit now; approving needs it to equal `current` (SPEC §23)"
    )
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


CREDIT_POLICY_EXAMPLES = {
    "four_eyes": example(
        "Raises of more than EUR 10,000 wait for a second officer",
        {"approval_threshold": eur("10000.00")},
        role="credit_officer",
    ),
    "insured_cap": example(
        "No base limit above the insurer's cover plus EUR 2,000",
        {"base_cap_policy": "cover_plus_discretionary", "discretionary": eur("2000.00")},
        role="credit_officer",
    ),
}

LIMIT_DECISION_EXAMPLES = {
    "approve_less": example(
        "A second officer approves the raise, for less than asked",
        {"decision": "approve", "limit": eur("25000.00"), "reason": "approved up to the insurer's cover"},
        role="credit_officer",
        description="The officer who asked cannot decide (`403` `same_approver`).",
    ),
    "reject": example(
        "A second officer rejects it",
        {"decision": "reject", "reason": "payment history too short"},
        role="credit_officer",
    ),
}

NOMINATION_DECISION_EXAMPLES = {
    "approve": example(
        "The distributor approves the vendor's nomination: the line is granted",
        {"decision": "approve", "reason": "good payment record"},
        role="credit_officer",
    ),
    "reject": example(
        "It rejects it; the vendor sees `credit_risk`",
        {"decision": "reject", "reason": "two incidents this year", "refusal_code": "credit_risk"},
        role="credit_officer",
    ),
}

INSURANCE_EXAMPLES = {
    "cover": example(
        "The insurer's cover for the reseller is now EUR 15,000",
        {"insurer": "Allianz Trade", "cover": eur("15000.00"), "decided_on": "2026-03-01", "reference": "AT-889231"},
        role="credit_officer",
    ),
    "cancelled": example(
        "The insurer cancels its cover",
        {"insurer": "Allianz Trade", "cover": eur("0.00"), "decided_on": "2026-03-01"},
        role="credit_officer",
    ),
}

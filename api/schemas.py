"""Request and response bodies. Money is always {"amount": "<decimal string>", "currency"}.

Every identifier, reference, free text, instant and day in a request uses the types of
`creditlines.validation` (SPEC §15), the same rules the services check."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from creditlines.money import Money, money_json, to_minor
from creditlines.validation import (
    Category,
    Day,
    EventId,
    Identifier,
    Instant,
    Label,
    Name,
    Reason,
    Reference,
    TenantId,
)

Id = Identifier


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoneyIn(Strict):
    amount: Annotated[
        StrictStr,
        Field(
            max_length=40, examples=["5000.00"], description="A decimal string with at most the currency's minor digits"
        ),
    ]
    currency: Annotated[StrictStr, Field(max_length=10, examples=["EUR"])]


class MoneyOut(BaseModel):
    amount: str = Field(examples=["5000.00"])
    currency: str = Field(examples=["EUR"])

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls.of_minor(to_minor(money), money.currency.code)

    @classmethod
    def of_minor(cls, minor: int, currency: str) -> MoneyOut:
        """The response model of ``creditlines.money.money_json``, from stored minor units."""
        return cls(**money_json(minor, currency))


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
    available: MoneyOut | None = None
    shortfall: MoneyOut | None = None


# ----------------------------------------------------------------------- admin


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


# ----------------------------------------------------------------------- resellers


class ResellerIn(Strict):
    name: Name


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


class DrawingIn(Strict):
    reference: Reference
    amount: MoneyIn
    vendor_id: Id | None = None
    on_refusal: Literal["refuse", "hold"] = Field(
        "refuse", description="hold: a drawing refused for insufficient credit or an account on hold waits (202)"
    )


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
    status: Literal["open", "settled", "held", "cancelled", "expired"]
    vendor_id: str | None
    allocations: list[AllocationOut]
    created_at: datetime
    hold: HoldOut | None = None


class DrawingPage(BaseModel):
    items: list[DrawingOut]
    next_cursor: str | None


class ReleaseIn(Strict):
    reference: Reference
    amount: MoneyIn
    kind: Literal["payment", "cancellation", "credit_note", "financier_payment"]


class LedgerEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    kind: str
    reason: str | None
    line_id: str | None
    drawing_reference: str | None
    release_reference: str | None
    amount: MoneyOut | None
    drawn_delta: MoneyOut | None
    limit_after: MoneyOut | None
    valid_until_after: date | None
    status_after: str | None
    details: dict[str, Any] | None


class LedgerPage(BaseModel):
    items: list[LedgerEntryOut]
    next_cursor: str | None


# ----------------------------------------------------------------------- programmes


class BudgetIn(Strict):
    max_beneficiaries: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    max_total_limit: MoneyIn | None = None


class TriggerIn(Strict):
    product_category: Annotated[Category, Field(examples=["office_oem"])]
    min_amount: MoneyIn


class ProgrammeIn(Strict):
    code: TenantId
    distributor_id: TenantId
    name: Name
    kind: Literal["standing", "purchase_triggered"]
    line_limit: MoneyIn
    starts_on: Day
    ends_on: Day
    usable_for: Literal["any", "vendor_products"] = "any"
    on_expiry: Literal["transfer_to_base", "run_off"] = "transfer_to_base"
    budget: BudgetIn | None = None
    trigger: TriggerIn | None = None
    line_duration_months: Annotated[int, Field(ge=1, le=120)] | None = None


class ProgrammePatch(Strict):
    name: Name | None = None
    ends_on: Day | None = None
    status: Literal["active", "closed"] | None = None
    budget: BudgetIn | None = None


class BudgetOut(BaseModel):
    max_beneficiaries: int | None
    max_total_limit: MoneyOut | None


class BudgetLeftOut(BaseModel):
    beneficiaries: int | None
    total_limit: MoneyOut | None


class TriggerOut(BaseModel):
    product_category: str
    min_amount: MoneyOut


class ProgrammeOut(BaseModel):
    id: str
    code: str
    vendor_id: str
    distributor_id: str
    name: str
    kind: Literal["standing", "purchase_triggered"]
    status: Literal["active", "closed"]
    line_limit: MoneyOut
    starts_on: Day
    ends_on: Day
    usable_for: Literal["any", "vendor_products"]
    on_expiry: Literal["transfer_to_base", "run_off"]
    budget: BudgetOut | None
    trigger: TriggerOut | None
    line_duration_months: int | None
    beneficiaries: int
    total_limit: MoneyOut
    total_drawn: MoneyOut
    budget_left: BudgetLeftOut | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class ProgrammeLineOut(BaseModel):
    id: str
    reseller_id: str
    programme_id: str | None
    vendor_id: str | None
    funder: str
    limit: MoneyOut
    drawn: MoneyOut
    valid_from: date
    valid_until: date | None
    status: Literal["active", "expired", "revoked"]
    usable_for: Literal["any", "vendor_products"]
    on_expiry: Literal["transfer_to_base", "run_off"] | None


class ProgrammeLinePage(BaseModel):
    items: list[ProgrammeLineOut]
    next_cursor: str | None


class EnrolmentItemIn(Strict):
    reseller_id: Id
    limit: MoneyIn | None = None


class EnrolmentIn(Strict):
    resellers: Annotated[list[EnrolmentItemIn], Field(min_length=1, max_length=1000)]


class EnrolmentResultOut(BaseModel):
    reseller_id: str
    outcome: Literal[
        "granted", "already_granted", "not_eligible", "budget_exhausted", "unknown_reseller", "pending_approval"
    ]
    reason: str | None
    line: ProgrammeLineOut | None
    nomination_id: str | None = Field(
        None, description="With `pending_approval`: the nomination the distributor decides"
    )


class EnrolmentOut(BaseModel):
    results: list[EnrolmentResultOut]


class PurchaseEventIn(Strict):
    event_id: EventId
    reseller_id: Id
    vendor_id: Id
    product_category: Category
    amount: MoneyIn
    occurred_at: Annotated[
        Instant,
        Field(
            description="ISO 8601 instant with its offset, 1900-01-01 to 2200-12-31",
            examples=["2026-11-22T10:00:00+01:00"],
        ),
    ]


class PurchaseResultOut(BaseModel):
    programme_id: str
    outcome: Literal["granted", "extended", "not_qualifying", "not_eligible", "budget_exhausted"]
    reason: str | None
    line: ProgrammeLineOut | None


class PurchaseEventOut(BaseModel):
    event_id: str
    results: list[PurchaseResultOut]


# ---------------------------------------------------------------------- partnerships


class PartnershipIn(Strict):
    max_line_limit: MoneyIn | None = Field(None, description="No line the vendor funds here above this (none: no cap)")
    requires_approval: StrictBool = Field(False, description="Enrolments are nominations the distributor decides")
    note: Reason | None = None


class PartnershipOut(BaseModel):
    distributor_id: str
    vendor_id: str
    status: Literal["active", "ended"]
    max_line_limit: MoneyOut | None
    requires_approval: bool
    note: str | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None


class PartnershipPage(BaseModel):
    items: list[PartnershipOut]
    next_cursor: str | None


class PartnershipEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    kind: str
    status_after: str
    max_line_limit_after: MoneyOut | None
    requires_approval_after: bool
    note_after: str | None

"""Bodies of vendors' programmes: the programme and its budget, its lines, enrolments and
purchase events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from api.schemas.common import (
    DEMO_DISTRIBUTOR,
    DEMO_OTHER_RESELLER,
    DEMO_RESELLER,
    DEMO_VENDOR,
    Id,
    MoneyIn,
    MoneyOut,
    Strict,
    eur,
    example,
)
from creditlines.validation import (
    Category,
    Day,
    EventId,
    Instant,
    Name,
    TenantId,
)


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


PROGRAMME_EXAMPLES = {
    "standing": example(
        "A standing programme at Actebis: EUR 3,000 lines for the resellers Microsoft enrols",
        {
            "code": "surface-push",
            "distributor_id": DEMO_DISTRIBUTOR,
            "name": "Surface push",
            "kind": "standing",
            "line_limit": eur("3000.00"),
            "starts_on": "2027-01-01",
            "ends_on": "2027-12-31",
            "usable_for": "vendor_products",
            "budget": {"max_beneficiaries": 200, "max_total_limit": eur("500000.00")},
        },
        role="partner_manager",
    ),
    "purchase_triggered": example(
        "A purchase-triggered programme: a 6-month line for each reseller buying EUR 1,000 of Office OEM",
        {
            "code": "office-2027",
            "distributor_id": DEMO_DISTRIBUTOR,
            "name": "Office 2027 booster",
            "kind": "purchase_triggered",
            "line_limit": eur("2500.00"),
            "starts_on": "2027-01-01",
            "ends_on": "2027-12-31",
            "trigger": {"product_category": "office_oem", "min_amount": eur("1000.00")},
            "line_duration_months": 6,
        },
        role="partner_manager",
    ),
}

PROGRAMME_PATCH_EXAMPLES = {
    "budget": example(
        "Room for 1,200 beneficiaries",
        {"budget": {"max_beneficiaries": 1200}},
        role="partner_manager",
    ),
    "rename": example("A new name", {"name": "Microsoft Mezzanine 2027"}, role="partner_manager"),
}

ENROLMENT_EXAMPLES = {
    "two_resellers": example(
        "Enrol two resellers: one at the programme's line limit, one at EUR 2,000",
        {"resellers": [{"reseller_id": DEMO_OTHER_RESELLER}, {"reseller_id": "AC-10104", "limit": eur("2000.00")}]},
        role="partner_manager",
        description="Answers `200` with one outcome per reseller (`granted`, `not_eligible`, `pending_approval`, …).",
    ),
}

PURCHASE_EVENT_EXAMPLES = {
    "office_oem": example(
        "The ERP reports a reseller's purchase of EUR 1,200 of Office OEM licences",
        {
            "event_id": "INV-2026-004711",
            "reseller_id": DEMO_RESELLER,
            "vendor_id": DEMO_VENDOR,
            "product_category": "office_oem",
            "amount": eur("1200.00"),
            "occurred_at": "2026-03-01T10:00:00+01:00",
        },
        role="integration",
        description="Answers `201` with the outcome of every purchase-triggered programme it may qualify for.",
    ),
}

"""Bodies of partnerships: which vendor a distributor admitted, on what terms."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictBool

from api.schemas.common import MoneyIn, MoneyOut, Strict, eur, example
from creditlines.validation import (
    Reason,
)


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


PARTNERSHIP_EXAMPLES = {
    "capped": example(
        "Admit the vendor: its lines here at most EUR 5,000, enrolments granted at once",
        {"max_line_limit": eur("5000.00"), "requires_approval": False, "note": "Mezzanine agreement"},
        role="credit_officer",
    ),
    "approval": example(
        "Admit the vendor, every enrolment a nomination the distributor decides",
        {"max_line_limit": None, "requires_approval": True, "note": "nominations reviewed weekly"},
        role="credit_officer",
    ),
}

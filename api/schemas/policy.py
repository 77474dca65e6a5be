"""Request and response bodies of the controls of SPEC §23: policy requests (four eyes on the
credit policy and on insurer cover raises)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import Strict
from creditlines.validation import Reason

PolicyRequestStatus = Literal["pending", "approved", "rejected", "expired"]


class PolicyRequestOut(BaseModel):
    """A loosening change waiting for (or decided by) a second officer key."""

    id: str
    kind: Literal["credit_policy", "insurance_cover"]
    reseller_id: str | None = Field(description="insurance_cover: the reseller whose cover is raised")
    changes: dict[str, Any] = Field(description="What is asked, as in the request that asked it (amounts as money)")
    previous: dict[str, Any] = Field(description="What those fields held when it was asked")
    reason: str | None
    requested_by: str
    status: PolicyRequestStatus
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None


class PolicyRequestPage(BaseModel):
    items: list[PolicyRequestOut]
    next_cursor: str | None


class PolicyDecisionIn(Strict):
    decision: Literal["approve", "reject"]
    reason: Reason

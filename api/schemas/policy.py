"""Request and response bodies of the controls of SPEC §23: policy requests (four eyes on the
credit policy and on insurer cover raises)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import Strict, example
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


POLICY_DECISION_EXAMPLES = {
    "approve": example(
        "A second officer approves the loosening: it applies now",
        {"decision": "approve", "reason": "agreed at the credit committee"},
        role="credit_officer",
        description="The officer who asked cannot decide (`403` `same_approver`).",
    ),
    "reject": example(
        "A second officer rejects it: the policy stays as it is",
        {"decision": "reject", "reason": "the insurer asked us to keep four eyes"},
        role="credit_officer",
    ),
}

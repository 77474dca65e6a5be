"""Four eyes on the controls themselves (SPEC §23): the credit policy's `PATCH`, insurer cover
decisions, and the policy requests a loosening change becomes. Thin: parse, authorise, call
`creditlines.decisions.policy_requests`, render."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse

from api.deps import Cursor, DistributorId, ResellerId, decode_cursor, encode_cursor, get_uow, money_in
from api.routers.decisions import D, DecisionId, _cur, cover_out, officer, policy_out
from api.schemas.common import MoneyOut
from api.schemas.decisions import (
    CREDIT_POLICY_EXAMPLES,
    INSURANCE_EXAMPLES,
    CreditPolicyOut,
    CreditPolicyPatch,
    InsuranceDecisionOut,
    InsuranceIn,
)
from api.schemas.policy import POLICY_DECISION_EXAMPLES, PolicyDecisionIn, PolicyRequestOut, PolicyRequestPage
from creditlines import clock
from creditlines.auth.service import Principal
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.decisions import policy_requests
from creditlines.decisions.models import PolicyRequest
from creditlines.ledger import held, terms
from creditlines.money import to_minor

router = APIRouter(tags=["credit decisions"])
PENDING: dict[int | str, dict[str, Any]] = {
    202: {"model": PolicyRequestOut, "description": "A loosening change: a pending policy request, nothing changed yet"}
}


def _rendered(values: dict[str, Any], cur: str) -> dict[str, Any]:
    """Stored fields as the API names them: ``x_minor`` amounts become money ``x``, also inside a
    nested value (``overdue_stop``: ``{"after_days": 90, "min_amount": {money}}``, or null)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name.endswith("_minor"):
            name = name.removesuffix("_minor")
            value = None if value is None else MoneyOut.of_minor(value, cur).model_dump()
        elif isinstance(value, dict):
            value = _rendered(value, cur)
        out[name] = value
    return out


def policy_request_out(r: PolicyRequest, cur: str) -> PolicyRequestOut:
    return PolicyRequestOut(
        id=r.id,
        kind=r.kind,
        reseller_id=r.reseller_id,
        changes=_rendered(policy_requests.changes_of(r), cur),
        previous=_rendered(policy_requests.previous_of(r), cur),
        reason=r.reason,
        requested_by=r.requested_by,
        status=policy_requests.effective_status(r, clock.now()),
        created_at=r.created_at,
        expires_at=r.expires_at,
        decided_at=r.decided_at,
        decided_by=r.decided_by,
        decision_reason=r.decision_reason,
    )


def _accepted(r: PolicyRequest, cur: str) -> JSONResponse:
    return JSONResponse(policy_request_out(r, cur).model_dump(mode="json"), status_code=202)


@router.patch(D, response_model=CreditPolicyOut, responses=PENDING)
@retry_transient
def patch_distributor(
    body: Annotated[CreditPolicyPatch, Body(openapi_examples=CREDIT_POLICY_EXAMPLES)],
    distributor_id: DistributorId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
) -> Any:
    """Set the credit policy: `approval_threshold` (null removes it), `base_cap_policy`, `discretionary`,
    `hold_days` (1–90, how long a held order waits, SPEC §16), `indemnity_rate` (percent of an
    insured loss the insurer pays, default "90", SPEC §20), `payment_terms_days` and `overdue_stop`
    (SPEC §18: `{after_days, min_amount}`, null removes it). Fields left out keep their value.
    A change that loosens control (threshold raised or removed, cap policy to `none`, discretionary
    raised, the overdue stop removed or made later or higher) asked with an officer key answers
    `202` with one pending policy request for another officer; the tightening part applies at once,
    and an admin key's change applies at once entirely."""
    given = body.model_fields_set
    with uow.write() as s:
        changes: dict[str, object] = {}
        if "approval_threshold" in given:
            changes["approval_threshold"] = money_in(s, distributor_id, body.approval_threshold, allow_zero=True)
        if "base_cap_policy" in given and body.base_cap_policy is not None:
            changes["base_cap_policy"] = body.base_cap_policy
        if "discretionary" in given and body.discretionary is not None:
            changes["discretionary"] = money_in(s, distributor_id, body.discretionary, allow_zero=True)
        if "indemnity_rate" in given and body.indemnity_rate is not None:  # SPEC §20: no control, at once
            changes["indemnity_rate"] = body.indemnity_rate
        stop: object = terms.UNSET  # SPEC §18, on the distributor's row; loosening it is for four eyes (§23)
        if "overdue_stop" in given:
            given_stop = body.overdue_stop
            stop = (
                None
                if given_stop is None
                else terms.OverdueStop(
                    given_stop.after_days,
                    to_minor(money_in(s, distributor_id, given_stop.min_amount, allow_zero=True)),
                )
            )
        # The policy row is locked first, then the distributor's row (the stop, the terms, hold_days).
        view, request = policy_requests.change_policy(
            s,
            distributor_id=distributor_id,
            actor=who.actor,
            key_id=who.key_id,
            admin=who.role == "admin",
            changes=changes,
            overdue_stop=stop,
        )
        if "payment_terms_days" in given and body.payment_terms_days is not None:  # no control: at once
            terms.update_policy(s, distributor_id=distributor_id, payment_terms_days=body.payment_terms_days)
        if body.hold_days is not None:  # how long a held order waits (SPEC §16): neither way a control
            held.set_hold_days(s, distributor_id=distributor_id, hold_days=body.hold_days)
        if request is not None:
            return _accepted(request, view.currency)
        out = policy_out(view, terms.policy_of(s, distributor_id))
        return out.model_copy(update={"hold_days": held.get_hold_days(s, distributor_id)})


@router.put(D + "/resellers/{reseller_id}/insurance", response_model=InsuranceDecisionOut, responses=PENDING)
@retry_transient
def put_insurance(
    body: Annotated[InsuranceIn, Body(openapi_examples=INSURANCE_EXAMPLES)],
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
) -> Any:
    """Record the insurer's decision (`cover` 0: cancelled). Under `cover_plus_discretionary` a
    base limit above cover + discretionary is cut to it (ledger reason `insurer_cut`). A cover
    raised by more than the approval threshold (over its lowest of the last 30 days), asked with
    an officer key, answers `202` with a pending policy request: nothing is recorded until
    another officer approves it. With `effective_on` after today the decision is scheduled: event
    `insurance.cut_scheduled` for a cut, and nothing changes until that date (SPEC §19)."""
    with uow.write() as s:
        cur = _cur(s, distributor_id)
        result = policy_requests.record_cover(
            s,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            insurer=body.insurer,
            cover=money_in(s, distributor_id, body.cover, allow_zero=True),
            decided_on=body.decided_on,
            reference=body.reference,
            actor=who.actor,
            key_id=who.key_id,
            admin=who.role == "admin",
            effective_on=body.effective_on,
        )
        if isinstance(result, PolicyRequest):
            return _accepted(result, cur)
        return InsuranceDecisionOut(
            **cover_out(result.cover, cur),
            changed=result.changed,
            base_limit_before=MoneyOut.of_minor(result.limit_before_minor, cur),
            base_limit_after=MoneyOut.of_minor(result.limit_after_minor, cur),
            limit_cut=result.limit_cut,
            scheduled=result.scheduled,
        )


@router.get(D + "/policy-requests", response_model=PolicyRequestPage)
def list_policy_requests(
    distributor_id: DistributorId,
    status_: Literal["pending", "approved", "rejected", "expired"] | None = Query(None, alias="status"),
    cursor: Cursor = None,
    limit: int = Query(50, ge=1, le=500),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
) -> PolicyRequestPage:
    """Policy requests (credit policy changes and cover raises), oldest first."""
    after = decode_cursor(cursor, "id")
    with uow.read() as s:
        cur = _cur(s, distributor_id)
        rows = policy_requests.list_requests(
            s, distributor_id=distributor_id, status=status_, after=after, limit=limit + 1
        )
    items = [policy_request_out(r, cur) for r in rows[:limit]]
    return PolicyRequestPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


@router.get(D + "/policy-requests/{request_id}", response_model=PolicyRequestOut)
def get_policy_request(
    distributor_id: DistributorId,
    request_id: DecisionId,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(officer),
) -> PolicyRequestOut:
    with uow.read() as s:
        return policy_request_out(
            policy_requests.get(s, distributor_id=distributor_id, request_id=request_id), _cur(s, distributor_id)
        )


@router.post(D + "/policy-requests/{request_id}/decision", response_model=PolicyRequestOut)
@retry_transient
def decide_policy_request(
    body: Annotated[PolicyDecisionIn, Body(openapi_examples=POLICY_DECISION_EXAMPLES)],
    distributor_id: DistributorId,
    request_id: DecisionId,
    uow: UnitOfWork = Depends(get_uow),
    who: Principal = Depends(officer),
) -> PolicyRequestOut:
    """Approve or reject, by another officer key than the requester's (`403 same_approver`); once
    only (`409 already_decided`); within 14 days (`409 request_expired`); approved only while the
    fields still hold what they held when asked (`409 policy_changed`)."""
    with uow.write() as s:
        request = policy_requests.decide(
            s,
            distributor_id=distributor_id,
            request_id=request_id,
            decision=body.decision,
            reason=body.reason,
            actor=who.actor,
            key_id=who.key_id,
        )
        return policy_request_out(request, _cur(s, distributor_id))

"""The credit officer's policy requests page (SPEC §23): loosening changes of the credit policy
(the overdue stop included) and large cover raises, waiting for a second officer. Every decision is the library's own
(``policy_requests.decide``), as in the API; a refusal is shown beside the request it concerns."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import DistributorId
from console import fmt
from console import library as lib
from console.decisions import DECIDED, PAGE, DecisionId, _decide, _decision, _elsewhere, _text
from console.officer import _reason, officer_of
from console.web import Viewer, checked_form, error_status, redirect, render, viewer

router = APIRouter()
MONEY = ("approval_threshold_minor", "discretionary_minor", "cover_minor")


def _described(changes: dict[str, Any], currency: str) -> list[tuple[str, str]]:
    """(field, value) for people: amounts formatted, a removed threshold or stop said so."""
    out = []
    for name, value in changes.items():
        if name in MONEY:
            shown = "none (removed)" if value is None else fmt.minor(value, currency)
        elif name == "overdue_stop":  # SPEC §18: {after_days, min_amount_minor}, or none
            shown = (
                "none (removed)"
                if value is None
                else f"more than {value['after_days']} days overdue, at least "
                f"{fmt.minor(value['min_amount_minor'], currency)}"
            )
        else:
            shown = str(value)
        out.append((name.removesuffix("_minor").replace("_", " "), shown))
    return out


def _page(
    request: Request,
    who: Viewer,
    distributor_id: str,
    done: str | None,
    errors: dict[str, lib.CreditLinesError],
    form: dict[str, Any],
    status: int = 200,
) -> Response:
    with request.app.state.uow.read() as s:
        distributor = lib.require_distributor(s, distributor_id)
        pending = lib.policy_requests_of_distributor(
            s, distributor_id=distributor_id, status="pending", after=None, limit=PAGE
        )
    now = lib.clock.now()
    cur = distributor.currency
    return render(
        request,
        who,
        "decisions/policy_requests.html",
        status,
        distributor=distributor,
        pending=[(r, _described(lib.policy_request_changes(r), cur)) for r in pending],
        status_of={r.id: lib.policy_request_status(r, now) for r in pending},
        done=DECIDED.get(done or ""),
        errors=errors,
        form=form,
        my_key=who.principal.key_id,
        elsewhere=_elsewhere(errors, {r.id for r in pending}),
    )


@router.get("/distributors/{distributor_id}/policy-requests", response_class=HTMLResponse)
def policy_requests(
    request: Request,
    distributor_id: DistributorId,
    done: str | None = Query(None, max_length=20),
    who: Viewer = Depends(viewer),
) -> Response:
    officer_of(who, distributor_id)
    return _page(request, who, distributor_id, done, {}, {})


@router.post("/distributors/{distributor_id}/policy-requests/{request_id}/decision")
def decide_policy_request(
    request: Request,
    distributor_id: DistributorId,
    request_id: DecisionId,
    form: FormData = Depends(checked_form),
    who: Viewer = Depends(viewer),
) -> Response:
    """Approve or reject, by another officer key than the requester's."""
    officer_of(who, distributor_id)

    def action(s: Session) -> None:
        lib.decide_policy_request(
            s,
            distributor_id=distributor_id,
            request_id=request_id,
            decision=_decision(form),
            reason=_reason(form),
            actor=who.principal.actor,
            key_id=who.principal.key_id,
        )

    refused = _decide(request, who, action)
    if refused is None:
        done = "approved" if _text(form, "decision") == "approve" else "rejected"
        return redirect(f"/distributors/{distributor_id}/policy-requests?done={done}")
    return _page(request, who, distributor_id, None, {request_id: refused}, dict(form), error_status(refused))

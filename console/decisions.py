"""The credit officer's decision pages (SPEC §12, §14): limit requests to decide (four eyes),
vendors' nominations to decide, and the insurer cover form of the reseller page. Every decision
is the library's own (``limit_requests.decide``, ``nominations.decide``, ``insurance.set_cover``)
in one write transaction, retried on a deadlock; a refusal is shown beside the form that caused
it, with its code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import DistributorId, ResellerId
from console import fmt
from console import library as lib
from console.officer import DONE, _reason, _write, officer_of
from console.web import Viewer, checked_form, error_status, redirect, render, viewer

router = APIRouter()
PAGE = 50
RECENT = 20
DecisionId = Annotated[lib.validation.Identifier, Path(description="A limit request's or nomination's id")]

DONE.update(
    {  # the reseller page's messages after a decision of this module
        "requested": "Request pending, to be decided by another officer.",
        "cover": "Cover recorded. The base limit stands.",
        "cover_cut": "Cover recorded. The base limit was cut to the insured cap (insurer_cut).",
        "cover_same": "This cover decision was already the current one: nothing changed.",
        "cover_requested": "Cover raise pending: another officer decides it before it counts (policy requests).",
    }
)
DECIDED = {"approved": "Approved.", "rejected": "Rejected."}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _decision(form: FormData) -> str:
    decision = _text(form, "decision")
    if decision not in ("approve", "reject"):
        raise lib.ValidationFailed("choose Approve or Reject")
    return decision


def _decide(request: Request, who: Viewer, action: Callable[[Session], None]) -> lib.CreditLinesError | None:
    """Run a decision in one write transaction (retried on a deadlock); the refusal, if any."""
    uow = request.app.state.uow

    @lib.retry_transient
    def run() -> None:
        with uow.write() as s:
            action(s)

    try:
        run()
    except lib.Forbidden:
        raise  # scope: the error page, never a form message
    except lib.CreditLinesError as exc:
        return exc
    return None


def _elsewhere(errors: dict[str, lib.CreditLinesError], shown: set[str]) -> list[tuple[str, lib.CreditLinesError]]:
    """Refusals about something no longer listed to decide (decided meanwhile): shown on top."""
    return [(item_id, exc) for item_id, exc in errors.items() if item_id not in shown]


# ------------------------------------------------------------------------- limit requests


def _requests_page(
    request: Request,
    who: Viewer,
    distributor_id: str,
    after: str | None,
    done: str | None,
    errors: dict[str, lib.CreditLinesError],
    form: dict[str, Any],
    status: int = 200,
) -> Response:
    with request.app.state.uow.read() as s:
        distributor = lib.require_distributor(s, distributor_id)
        pending = lib.requests_of_distributor(
            s, distributor_id=distributor_id, status="pending", after=after, limit=PAGE + 1
        )
        recent = lib.recent_requests(s, distributor_id=distributor_id, limit=RECENT)
        live = lib.live_limits(s, distributor_id, [r.reseller_id for r in pending[:PAGE]])
    now = lib.clock.now()
    return render(
        request,
        who,
        "decisions/limit_requests.html",
        status,
        distributor=distributor,
        pending=pending[:PAGE],
        live=live,
        next_after=pending[PAGE - 1].id if len(pending) > PAGE else None,
        after=after,
        recent=[(r, lib.effective_status(r, now)) for r in recent],
        done=DECIDED.get(done or ""),
        errors=errors,
        form=form,
        my_key=who.principal.key_id,
        elsewhere=_elsewhere(errors, {r.id for r in pending}),
    )


@router.get("/distributors/{distributor_id}/limit-requests", response_class=HTMLResponse)
def limit_requests(
    request: Request,
    distributor_id: DistributorId,
    after: str | None = Query(None, max_length=100),
    done: str | None = Query(None, max_length=20),
    who: Viewer = Depends(viewer),
) -> Response:
    officer_of(who, distributor_id)
    if after:
        lib.validation.identifier(after, "after")
    return _requests_page(request, who, distributor_id, after or None, done, {}, {})


@router.post("/distributors/{distributor_id}/limit-requests/{request_id}/decision")
def decide_request(
    request: Request,
    distributor_id: DistributorId,
    request_id: DecisionId,
    form: FormData = Depends(checked_form),
    who: Viewer = Depends(viewer),
) -> Response:
    """Approve (for less with ``limit``) or reject, by another officer key than the requester's."""
    officer_of(who, distributor_id)

    def action(s: Session) -> None:
        decision = _decision(form)
        typed = _text(form, "limit")
        limit = None
        if typed and decision == "approve":
            limit = fmt.parse_money(typed, lib.require_distributor(s, distributor_id).currency, allow_zero=True)
        lib.decide_request(
            s,
            distributor_id=distributor_id,
            request_id=request_id,
            decision=decision,
            limit=limit,
            reason=_reason(form),
            actor=who.principal.actor,
            key_id=who.principal.key_id,
        )

    refused = _decide(request, who, action)
    if refused is None:
        done = "approved" if _text(form, "decision") == "approve" else "rejected"
        return redirect(f"/distributors/{distributor_id}/limit-requests?done={done}")
    return _requests_page(
        request, who, distributor_id, None, None, {request_id: refused}, dict(form), error_status(refused)
    )


# ------------------------------------------------------------------------- nominations


def _nominations_page(
    request: Request,
    who: Viewer,
    distributor_id: str,
    after: str | None,
    done: str | None,
    errors: dict[str, lib.CreditLinesError],
    form: dict[str, Any],
    status: int = 200,
) -> Response:
    with request.app.state.uow.read() as s:
        distributor = lib.require_distributor(s, distributor_id)
        pending = lib.nominations_of_distributor(
            s, distributor_id=distributor_id, status="pending", after=after, limit=PAGE + 1
        )
        recent = lib.recent_nominations(s, distributor_id=distributor_id, limit=RECENT)
    return render(
        request,
        who,
        "decisions/nominations.html",
        status,
        distributor=distributor,
        pending=pending[:PAGE],
        next_after=pending[PAGE - 1].id if len(pending) > PAGE else None,
        after=after,
        recent=recent,
        refusal_codes=lib.REFUSAL_CODES,
        done=DECIDED.get(done or ""),
        errors=errors,
        form=form,
        elsewhere=_elsewhere(errors, {n.id for n in pending}),
    )


@router.get("/distributors/{distributor_id}/nominations", response_class=HTMLResponse)
def nominations(
    request: Request,
    distributor_id: DistributorId,
    after: str | None = Query(None, max_length=100),
    done: str | None = Query(None, max_length=20),
    who: Viewer = Depends(viewer),
) -> Response:
    officer_of(who, distributor_id)
    if after:
        lib.validation.identifier(after, "after")
    return _nominations_page(request, who, distributor_id, after or None, done, {}, {})


@router.post("/distributors/{distributor_id}/nominations/{nomination_id}/decision")
def decide_nomination(
    request: Request,
    distributor_id: DistributorId,
    nomination_id: DecisionId,
    form: FormData = Depends(checked_form),
    who: Viewer = Depends(viewer),
) -> Response:
    """Approve (grants the line now, every grant rule checked by the library; for less with
    ``limit``) or reject with a refusal code of the closed list — all the vendor will see."""
    officer_of(who, distributor_id)

    def action(s: Session) -> None:
        decision = _decision(form)
        typed = _text(form, "limit")
        limit = None
        if typed and decision == "approve":
            limit = fmt.parse_money(typed, lib.require_distributor(s, distributor_id).currency)
        lib.decide_nomination(
            s,
            distributor_id=distributor_id,
            nomination_id=nomination_id,
            decision=decision,
            limit=limit,
            reason=_reason(form),
            actor=who.principal.actor,
            refusal_code=(_text(form, "refusal_code") or None) if decision == "reject" else None,
        )

    refused = _decide(request, who, action)
    if refused is None:
        done = "approved" if _text(form, "decision") == "approve" else "rejected"
        return redirect(f"/distributors/{distributor_id}/nominations?done={done}")
    return _nominations_page(
        request, who, distributor_id, None, None, {nomination_id: refused}, dict(form), error_status(refused)
    )


# ------------------------------------------------------------------------- insurer cover


def _day(text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise lib.ValidationFailed("decided on: a date, as 2027-01-15") from None
    return lib.validation.day(value, "decided_on")


@router.post("/distributors/{distributor_id}/resellers/{reseller_id}/insurance")
def record_cover(
    request: Request,
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    form: FormData = Depends(checked_form),
    who: Viewer = Depends(viewer),
) -> Response:
    """Record an insurer's decision; under ``cover_plus_discretionary`` the library cuts the base
    limit to the cap, which may leave the reseller over limit. A raise above the approval
    threshold becomes a policy request for another officer (the library decides which)."""
    outcome: dict[str, str] = {}

    def action(s: Session, actor: str) -> None:
        currency = lib.require_distributor(s, distributor_id).currency
        cover = fmt.parse_money(_text(form, "cover"), currency, allow_zero=True)
        result = lib.record_cover(
            s,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            insurer=_text(form, "insurer"),
            cover=cover,
            decided_on=_day(_text(form, "decided_on")),
            reference=_text(form, "reference") or None,
            actor=actor,
            key_id=who.principal.key_id,
            admin=who.principal.role == "admin",
        )
        if isinstance(result, lib.PolicyRequest):
            outcome["done"] = "cover_requested"
        else:
            outcome["done"] = "cover_same" if not result.changed else "cover_cut" if result.limit_cut else "cover"

    response = _write(request, who, distributor_id, reseller_id, form, "cover", action)
    if outcome and response.status_code == 303:
        return redirect(f"/distributors/{distributor_id}/resellers/{reseller_id}?done={outcome['done']}#cover")
    return response

"""The credit officer's pages (SPEC §14): reseller search, the reseller page (availability by
line, lines, ledger, holds, termination, base limit, "may it order X?") and the listings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import DistributorId, ResellerId
from console import charts, decision_context, fmt, losses
from console import library as lib
from console.nav import LISTINGS
from console.web import Viewer, checked_form, error_status, redirect, render, viewer

router = APIRouter()
PAGE = 50
DONE = {
    "limit": "Base limit set.",
    "hold": "Hold placed.",
    "lifted": "Hold lifted.",
    "terminated": "Reseller terminated.",
    "cancelled": "Held order cancelled.",
}


def officer_of(who: Viewer, distributor_id: str) -> None:
    """Credit officers of this distributor (and admin) only: the library's own scope rule."""
    lib.authorise(who.principal, roles=("credit_officer",), distributor_id=distributor_id)


def _flag(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


@router.get("/distributors/{distributor_id}/resellers", response_class=HTMLResponse)
def resellers(
    request: Request,
    distributor_id: DistributorId,
    q: str | None = Query(None, max_length=100),
    status: str | None = Query(None, pattern="^(active|on_hold|terminated)?$"),
    over_limit: str | None = Query(None, pattern="^(yes|no)?$"),
    after: str | None = Query(None, max_length=100),
    who: Viewer = Depends(viewer),
) -> Response:
    officer_of(who, distributor_id)
    if after:
        lib.validation.identifier(after, "after")
    with request.app.state.uow.replica() as s:
        distributor = lib.require_distributor(s, distributor_id)
        found = lib.search_resellers(
            s,
            distributor_id=distributor_id,
            query=q,
            after=after or None,
            limit=PAGE + 1,
            status=status or None,
            over_limit=_flag(over_limit),
        )
    rows = found[:PAGE]
    next_after = rows[-1].reseller.id if len(found) > PAGE else None
    return render(
        request,
        who,
        "resellers.html",
        distributor=distributor,
        rows=rows,
        q=q or "",
        status=status or "",
        over_limit=over_limit or "",
        next_after=next_after,
        after=after,
    )


def _bar_lines(view: Any) -> list[charts.BarLine]:
    out = []
    for line in view.lines:
        label = "Base" if line.kind == "base" else f"{line.funder} · {(line.programme_id or 'line').split('@')[0]}"
        out.append(
            charts.BarLine(
                label,
                lib.to_minor(line.limit),
                lib.to_minor(line.drawn),
                fmt.money(line.limit),
                fmt.money(line.drawn),
                fmt.money(line.available),
            )
        )
    return out


def reseller_context(s: Session, distributor_id: str, reseller_id: str, before: int | None) -> dict[str, Any]:
    distributor = lib.require_distributor(s, distributor_id)
    summary = lib.reseller_summary(s, distributor_id=distributor_id, reseller_id=reseller_id)
    view = lib.availability(s, distributor_id=distributor_id, reseller_id=reseller_id)
    entries = lib.recent_entries(
        s, distributor_id=distributor_id, reseller_id=reseller_id, before_seq=before, limit=PAGE + 1
    )
    return dict(
        distributor=distributor,
        summary=summary,
        reseller=summary.reseller,
        view=view,
        bars=charts.availability_bars(_bar_lines(view)),
        entries=entries[:PAGE],
        older=entries[PAGE - 1].seq if len(entries) > PAGE else None,
        before=before,
        base_limit=next((ln.limit for ln in view.lines if ln.kind == "base"), None),
        held_orders=lib.list_drawings(
            s, distributor_id=distributor_id, reseller_id=reseller_id, after=None, limit=PAGE, status="held"
        ),
        **decision_context.reseller_decisions(s, distributor_id, reseller_id),
        **losses.reseller_losses(s, distributor_id, reseller_id),
    )


@router.get("/distributors/{distributor_id}/resellers/{reseller_id}", response_class=HTMLResponse)
def reseller_page(
    request: Request,
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    amount: str | None = Query(None, max_length=40),
    vendor: str | None = Query(None, max_length=100),
    before: int | None = Query(None, ge=1, le=2**63 - 1),
    done: str | None = None,
    who: Viewer = Depends(viewer),
) -> Response:
    """The reseller; ``amount`` (and ``vendor``) answer "may it order X?" — a read, so a GET form."""
    officer_of(who, distributor_id)
    decision, check_error, status = None, None, 200
    with request.app.state.uow.read() as s:
        context = reseller_context(s, distributor_id, reseller_id, before)
        if amount:
            try:
                if vendor:
                    lib.validation.identifier(vendor, "vendor")
                money = fmt.parse_money(amount, context["distributor"].currency)
                decision = lib.check_eligibility(
                    s, distributor_id=distributor_id, reseller_id=reseller_id, amount=money, vendor_id=vendor or None
                )
            except lib.CreditLinesError as exc:
                check_error, status = exc.detail, error_status(exc)
    return render(
        request,
        who,
        "reseller.html",
        status,
        decision=decision,
        check_error=check_error,
        amount=amount or "",
        vendor=vendor or "",
        done=DONE.get(done or ""),
        errors={},
        form={},
        **context,
    )


def _write(
    request: Request,
    who: Viewer,
    distributor_id: str,
    reseller_id: str,
    form: FormData,
    what: str,
    action: Callable[[Session, str], None],
) -> Response:
    """Run ``action`` in one write transaction (retried on a deadlock); on a refusal, the page
    again with the refusal beside the form that caused it."""
    officer_of(who, distributor_id)
    uow = request.app.state.uow

    @lib.retry_transient
    def run() -> None:
        with uow.write() as s:
            action(s, who.principal.actor)

    try:
        run()
    except lib.CreditLinesError as exc:
        with uow.read() as s:
            context = reseller_context(s, distributor_id, reseller_id, None)
        return render(
            request,
            who,
            "reseller.html",
            error_status(exc),
            decision=None,
            check_error=None,
            amount="",
            vendor="",
            done=None,
            errors={what: exc.detail},
            form=dict(form),
            **context,
        )
    return redirect(f"/distributors/{distributor_id}/resellers/{reseller_id}?done={what}")


def _reason(form: FormData) -> str:
    value = form.get("reason")
    return value.strip() if isinstance(value, str) else ""


@router.post("/distributors/{distributor_id}/resellers/{reseller_id}/base-limit")
def base_limit(
    request: Request,
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    form: FormData = Depends(checked_form),
    who: Viewer = Depends(viewer),
) -> Response:
    """Set at once, or (a raise above the approval threshold) a pending four-eyes request."""
    pending: dict[str, str] = {}

    def action(s: Session, actor: str) -> None:
        currency = lib.require_distributor(s, distributor_id).currency
        limit = fmt.parse_money(str(form.get("limit") or ""), currency, allow_zero=True)
        pending.clear()
        asked = lib.set_or_request(
            s,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            limit=limit,
            reason=_reason(form),
            actor=actor,
            key_id=who.principal.key_id,
        )
        if asked is not None:
            pending["id"] = asked.id

    response = _write(request, who, distributor_id, reseller_id, form, "limit", action)
    if pending and response.status_code == 303:
        return redirect(f"/distributors/{distributor_id}/resellers/{reseller_id}?done=requested#limit-title")
    return response


@router.post("/distributors/{distributor_id}/resellers/{reseller_id}/hold")
def hold(
    request: Request,
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    form: FormData = Depends(checked_form),
    who: Viewer = Depends(viewer),
) -> Response:
    def action(s: Session, actor: str) -> None:
        lib.place_hold(s, distributor_id=distributor_id, reseller_id=reseller_id, reason=_reason(form), actor=actor)

    return _write(request, who, distributor_id, reseller_id, form, "hold", action)


@router.post("/distributors/{distributor_id}/resellers/{reseller_id}/hold/lift")
def lift(
    request: Request,
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    form: FormData = Depends(checked_form),
    who: Viewer = Depends(viewer),
) -> Response:
    def action(s: Session, actor: str) -> None:
        lib.lift_hold(
            s,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            reason=_reason(form) or "hold lifted",
            actor=actor,
        )

    return _write(request, who, distributor_id, reseller_id, form, "lifted", action)


@router.post("/distributors/{distributor_id}/resellers/{reseller_id}/termination")
def termination(
    request: Request,
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    form: FormData = Depends(checked_form),
    who: Viewer = Depends(viewer),
) -> Response:
    def action(s: Session, actor: str) -> None:
        if form.get("confirm") != reseller_id:
            raise lib.ValidationFailed(f"type the reseller id {reseller_id} to confirm: termination is final")
        lib.terminate(s, distributor_id=distributor_id, reseller_id=reseller_id, reason=_reason(form), actor=actor)

    return _write(request, who, distributor_id, reseller_id, form, "terminated", action)


@router.post("/distributors/{distributor_id}/resellers/{reseller_id}/held-orders/cancel")
def cancel_held(
    request: Request,
    distributor_id: DistributorId,
    reseller_id: ResellerId,
    form: FormData = Depends(checked_form),
    who: Viewer = Depends(viewer),
) -> Response:
    """Cancel one held order (SPEC §16): it will not be posted."""

    def action(s: Session, actor: str) -> None:
        reference = lib.validation.reference(form.get("reference"), "reference")
        lib.cancel_held_order(
            s, distributor_id=distributor_id, reseller_id=reseller_id, reference=reference, actor=actor
        )

    return _write(request, who, distributor_id, reseller_id, form, "cancelled", action)


@router.get("/distributors/{distributor_id}/listings", response_class=HTMLResponse)
def listings(request: Request, distributor_id: DistributorId, who: Viewer = Depends(viewer)) -> Response:
    officer_of(who, distributor_id)
    with request.app.state.uow.replica() as s:
        distributor = lib.require_distributor(s, distributor_id)
        figures = lib.day_figures(s, distributor_id=distributor_id)
    return render(
        request, who, "listings.html", distributor=distributor, listings=list(LISTINGS.values()), figures=figures
    )


def _listing(slug: str) -> Any:
    listing = LISTINGS.get(slug)
    if listing is None:
        raise lib.NotFound(f"no listing {slug!r}")
    return listing


@router.get("/distributors/{distributor_id}/listings/{slug}.csv")
def listing_csv(
    request: Request,
    distributor_id: DistributorId,
    slug: str,
    within_days: int = Query(30, ge=0, le=3660),
    who: Viewer = Depends(viewer),
) -> Response:
    officer_of(who, distributor_id)
    listing = _listing(slug)
    with request.app.state.uow.snapshot(replica=True) as s:
        body = lib.to_csv(listing.rows(s, distributor_id=distributor_id, within_days=within_days), listing.fields)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{distributor_id}-{slug}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/distributors/{distributor_id}/listings/{slug}", response_class=HTMLResponse)
def listing_page(
    request: Request,
    distributor_id: DistributorId,
    slug: str,
    within_days: int = Query(30, ge=0, le=3660),
    who: Viewer = Depends(viewer),
) -> Response:
    officer_of(who, distributor_id)
    listing = _listing(slug)
    with request.app.state.uow.snapshot(replica=True) as s:
        distributor = lib.require_distributor(s, distributor_id)
        rows: list[list[tuple[str, bool]]] = []  # (text, is an amount) per cell
        for row in listing.rows(s, distributor_id=distributor_id, within_days=within_days):
            amounts = {f.name for f in fields(row) if f.metadata.get("amount")}
            rows.append(
                [
                    (fmt.amount(getattr(row, name), distributor.currency), True)
                    if name in amounts
                    else (fmt.cell(name, getattr(row, name)), False)
                    for name in listing.fields
                ]
            )
            if len(rows) > 500:
                break
    return render(
        request,
        who,
        "listing.html",
        distributor=distributor,
        listing=listing,
        rows=rows[:500],
        truncated=len(rows) > 500,
        within_days=within_days,
    )

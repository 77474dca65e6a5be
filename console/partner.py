"""The partner manager's pages (SPEC §14): the vendor's programmes, a programme with its budget
gauges, beneficiaries and drawn amount over time (from the ledger), its lines, and enrolment by
a pasted or uploaded CSV with an outcome per row."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from api.deps import ProgrammeIdPath, VendorId
from console import charts, decision_context, enrolment, fmt
from console import library as lib
from console.web import Viewer, checked_form, error_status, render, viewer

router = APIRouter()
PAGE = 50


def partner_of(who: Viewer, vendor_id: str) -> None:
    lib.authorise(who.principal, roles=("partner_manager",), vendor_id=vendor_id)


@router.get("/vendors/{vendor_id}/programmes", response_class=HTMLResponse)
def programmes(request: Request, vendor_id: VendorId, who: Viewer = Depends(viewer)) -> Response:
    partner_of(who, vendor_id)
    with request.app.state.uow.replica() as s:
        items = []
        for p in lib.list_programmes(s, vendor_id=vendor_id):
            v = lib.view(s, p)
            items.append((p, v, lib.require_distributor(s, p.distributor_id)))
    return render(request, who, "programmes.html", vendor_id=vendor_id, items=items)


def _gauges(p: Any, v: Any) -> list[Any]:
    cur = v.currency
    gauges = [
        charts.gauge(
            "Beneficiaries",
            v.beneficiaries,
            p.max_beneficiaries,
            fmt.number(v.beneficiaries),
            fmt.number(p.max_beneficiaries) if p.max_beneficiaries is not None else "",
        )
    ]
    limit_minor = lib.to_minor(v.total_limit)
    gauges.append(
        charts.gauge(
            "Total of line limits",
            limit_minor,
            p.max_total_limit_minor,
            fmt.money(v.total_limit),
            fmt.minor(p.max_total_limit_minor, cur),
        )
    )
    gauges.append(
        charts.gauge(
            "Drawn on the lines",
            lib.to_minor(v.total_drawn),
            limit_minor,
            fmt.money(v.total_drawn),
            fmt.money(v.total_limit),
        )
    )
    return gauges


def programme_context(s: Session, vendor_id: str, programme_id: str, after: tuple[str, str] | None) -> dict[str, Any]:
    programme = lib.get_programme(s, vendor_id=vendor_id, programme_id=programme_id)
    distributor = lib.require_distributor(s, programme.distributor_id)
    v = lib.view(s, programme)
    points = lib.programme_history(s, programme)
    cur = distributor.currency
    lines = lib.programme_lines(s, programme, after=after, limit=PAGE + 1)
    return dict(
        programme=programme,
        distributor=distributor,
        v=v,
        gauges=_gauges(programme, v),
        beneficiaries_chart=charts.series(
            "Beneficiaries", [(p.day, p.beneficiaries) for p in points], value_text=fmt.number, day_text=fmt.day
        ),
        drawn_chart=charts.series(
            "Drawn on the programme's lines",
            [(p.day, p.drawn_minor) for p in points],
            value_text=lambda m: fmt.minor(m, cur),
            day_text=fmt.day,
            colour="#7d3c98",
        ),
        last_point=points[-1] if points else None,
        lines=lines[:PAGE],
        next_after=f"{lines[PAGE - 1].reseller_id},{lines[PAGE - 1].id}" if len(lines) > PAGE else None,
        **decision_context.programme_nominations(s, programme),
    )


def _after(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    reseller_id, _, line_id = value.partition(",")
    lib.validation.identifier(reseller_id, "after")
    lib.validation.identifier(line_id, "after")
    return reseller_id, line_id


@router.get("/vendors/{vendor_id}/programmes/{programme_id}", response_class=HTMLResponse)
def programme_page(
    request: Request,
    vendor_id: VendorId,
    programme_id: ProgrammeIdPath,
    after: str | None = Query(None, max_length=210),
    who: Viewer = Depends(viewer),
) -> Response:
    partner_of(who, vendor_id)
    with request.app.state.uow.replica() as s:
        context = programme_context(s, vendor_id, programme_id, _after(after))
    return render(request, who, "programme.html", outcomes=None, enrol_error=None, pasted="", **context)


async def _upload_text(form: FormData) -> str:
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        return enrolment.decode(await upload.read())
    pasted = form.get("rows")
    return pasted if isinstance(pasted, str) else ""


@router.post("/vendors/{vendor_id}/programmes/{programme_id}/enrolments", response_class=HTMLResponse)
async def enrol(
    request: Request,
    vendor_id: VendorId,
    programme_id: ProgrammeIdPath,
    form: FormData = Depends(checked_form),
    who: Viewer = Depends(viewer),
) -> Response:
    """Enrol the rows that could be read, in one request; the page again with an outcome per row."""
    from fastapi.concurrency import run_in_threadpool

    partner_of(who, vendor_id)
    text = await _upload_text(form)
    return await run_in_threadpool(_enrol, request, who, vendor_id, programme_id, text)


def _enrol(request: Request, who: Viewer, vendor_id: str, programme_id: str, text: str) -> Response:
    uow = request.app.state.uow
    outcomes: list[tuple[int, str, str, str]] = []  # row, reseller, outcome, detail
    enrol_error, status = None, 200
    try:
        with uow.read() as s:
            programme = lib.get_programme(s, vendor_id=vendor_id, programme_id=programme_id)
            currency = lib.require_distributor(s, programme.distributor_id).currency
        rows = enrolment.parse(text, currency)
        good = [r for r in rows if r.error is None]
        if not rows:
            raise lib.ValidationFailed("no row to enrol: paste or upload one reseller id a row")
        results = {}
        if good:

            @lib.retry_transient
            def run() -> list[Any]:
                with uow.write() as s:
                    return lib.enrol(
                        s,
                        vendor_id=vendor_id,
                        programme_id=programme_id,
                        actor=who.principal.actor,
                        resellers=[(r.reseller_id, r.limit) for r in good],
                    )

            results = {r.subject: r for r in run()}
        for row in rows:
            if row.error is not None:
                outcomes.append((row.number, row.reseller_id, "invalid_row", row.error))
            else:
                result = results[row.reseller_id]
                detail = result.reason or ""
                if result.nomination_id:  # pending_approval: the distributor's officer decides
                    detail = f"nomination {result.nomination_id}: {detail}"
                if result.line is not None:
                    detail = (
                        detail
                        or f"line of {fmt.minor(result.line.limit_minor, currency)} until "
                        f"{fmt.day(result.line.valid_until)}"
                    )
                outcomes.append((row.number, row.reseller_id, result.outcome, detail))
    except lib.CreditLinesError as exc:
        enrol_error, status, outcomes = exc.detail, error_status(exc), []
        if isinstance(exc, lib.Forbidden):
            raise
    with uow.read() as s:
        context = programme_context(s, vendor_id, programme_id, None)
    return render(
        request,
        who,
        "programme.html",
        status,
        outcomes=outcomes,
        enrol_error=enrol_error,
        pasted=text if enrol_error else "",
        **context,
    )

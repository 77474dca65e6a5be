"""The ageing listing (SPEC §18): outstanding by days overdue per funder and per reseller, a
stacked bar each (not due, 1–30, 31–60, 61–90, over 90 days), the same numbers in a table, and
the report's CSV. As of any date; a past date reads the ledger as it stood."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DistributorId
from console import charts, fmt
from console import library as lib
from console.officer import officer_of
from console.web import Viewer, render, viewer

router = APIRouter()
LABELS = {"not_due": "not due", "1_30": "1–30 days", "31_60": "31–60 days", "61_90": "61–90 days", "over_90": "over 90"}
SHOWN = 200  # resellers with a bar (the most overdue first); the CSV holds them all


def _day(as_of: str | None) -> date | None:
    if not as_of:
        return None
    try:
        return lib.validation.day(date.fromisoformat(as_of), "as_of")
    except ValueError:
        raise lib.ValidationFailed("as_of must be a date YYYY-MM-DD") from None


@router.get("/distributors/{distributor_id}/ageing.csv")
def ageing_csv(
    request: Request,
    distributor_id: DistributorId,
    as_of: str | None = Query(None, max_length=10),
    who: Viewer = Depends(viewer),
) -> Response:
    officer_of(who, distributor_id)
    with request.app.state.uow.snapshot() as s:
        report = lib.ageing(s, distributor_id=distributor_id, as_of=_day(as_of))
    return Response(
        lib.ageing_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{distributor_id}-ageing-{report.as_of}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/distributors/{distributor_id}/ageing", response_class=HTMLResponse)
def ageing_page(
    request: Request,
    distributor_id: DistributorId,
    as_of: str | None = Query(None, max_length=10),
    who: Viewer = Depends(viewer),
) -> Response:
    officer_of(who, distributor_id)
    with request.app.state.uow.snapshot() as s:
        distributor = lib.require_distributor(s, distributor_id)
        report = lib.ageing(s, distributor_id=distributor_id, as_of=_day(as_of))
    cur = report.currency

    def money(minor: int) -> str:
        return fmt.amount(str(lib.from_minor(minor, cur).amount), cur)

    def bar(label: str, row: lib.AgeingRow) -> charts.StackedBar:
        overdue = row.outstanding - row.amounts["not_due"]
        return charts.StackedBar(
            label,
            tuple(row.amounts[b] for b in lib.BUCKETS),
            f"outstanding {money(row.outstanding)} · overdue {money(overdue)} · "
            f"over 90 days {money(row.amounts['over_90'])}",
        )

    def cells(row: lib.AgeingRow) -> list[str]:
        return [money(row.amounts[b]) for b in lib.BUCKETS] + [money(row.outstanding)]

    worst = sorted(
        report.resellers,
        key=lambda r: tuple(-r.amounts[b] for b in reversed(lib.BUCKETS)),
    )[:SHOWN]
    names = [LABELS[b] for b in lib.BUCKETS]
    return render(
        request,
        who,
        "ageing.html",
        distributor=distributor,
        report=report,
        headings=names,
        legend=list(zip(names, charts.AGEING_COLOURS, strict=True)),
        funder_bars=charts.stacked_bars([bar(f.key, f) for f in report.funders], names),
        reseller_bars=charts.stacked_bars([bar(f"{r.key} {r.name or ''}", r) for r in worst], names),
        funders=[(f.key, cells(f)) for f in report.funders],
        resellers=[(r.key, r.name, cells(r)) for r in worst],
        totals=cells(report.totals),
        truncated=len(report.resellers) > SHOWN,
    )

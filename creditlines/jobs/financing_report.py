"""Did the financier keep its promise? Per financier, since a date (SPEC §17).

Counted: the financings opened since the distributor's local date ``since`` (its midnight). Per
financier: how many and how much was financed; of those drawn whose due instant has passed or
that were paid, how many the financier paid in full within the promised hours, and that share;
the median hours from the drawing to the financier's payment (paid ones); and what is overdue
now — financings recorded late whose order is still open, and the amount that moved to base.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.ledger.models import Drawing, Financing
from creditlines.money import amount_str
from creditlines.tenants.lookup import require_distributor

AMOUNT = {"amount": True}


@dataclass(frozen=True)
class FinancierRow:
    financier: str
    financed_count: int
    financed_amount: str = field(metadata=AMOUNT)
    currency: str
    paid_on_time_count: int
    paid_on_time_share: str  # 0.0000 to 1.0000, of the financings due or paid
    median_hours_to_pay: str | None
    overdue_count: int
    overdue_now: str = field(metadata=AMOUNT)


FIELDS = list(FinancierRow.__dataclass_fields__)


def _hours(start: datetime, end: datetime) -> Decimal:
    return (Decimal((end - start).total_seconds()) / Decimal(3600)).quantize(Decimal("0.01"))


def financings_report(session: Session, *, distributor_id: str, since: date) -> list[FinancierRow]:
    distributor = require_distributor(session, distributor_id)
    start = datetime.combine(since, time.min, ZoneInfo(distributor.timezone))
    now = clock.now()
    rows = session.execute(
        select(Financing, Drawing.status)
        .outerjoin(
            Drawing,
            (Drawing.distributor_id == Financing.distributor_id)
            & (Drawing.reseller_id == Financing.reseller_id)
            & (Drawing.reference == Financing.order_reference),
        )
        .where(Financing.distributor_id == distributor_id, Financing.created_at >= start)
        .order_by(Financing.financier, Financing.created_at)
    ).all()
    by_financier: dict[str, list[tuple[Financing, str | None]]] = {}
    for f, status in rows:
        by_financier.setdefault(f.financier, []).append((f, status))
    cur = distributor.currency
    report = []
    for financier, items in by_financier.items():
        decided = [f for f, _ in items if f.paid_at is not None or (f.due_at is not None and f.due_at <= now)]
        on_time = [f for f in decided if f.paid_at is not None and f.due_at is not None and f.paid_at <= f.due_at]
        hours = [_hours(f.drawn_at, f.paid_at) for f in decided if f.paid_at is not None and f.drawn_at is not None]
        overdue = [f for f, status in items if f.overdue_at is not None and status == "open"]
        share = (Decimal(len(on_time)) / Decimal(len(decided))).quantize(Decimal("0.0001")) if decided else Decimal(0)
        report.append(
            FinancierRow(
                financier=financier,
                financed_count=len(items),
                financed_amount=amount_str(sum(f.amount_minor for f, _ in items), cur),
                currency=cur,
                paid_on_time_count=len(on_time),
                paid_on_time_share=f"{share:.4f}",
                median_hours_to_pay=f"{statistics.median(hours):.2f}" if hours else None,
                overdue_count=len(overdue),
                overdue_now=amount_str(sum(f.overdue_minor for f in overdue), cur),
            )
        )
    return report

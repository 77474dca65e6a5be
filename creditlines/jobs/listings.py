"""Listings a credit officer sends out: lines about to expire, resellers over limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.csvdoc import AMOUNT
from creditlines.errors import ValidationFailed
from creditlines.ledger import repository as ledger_repo
from creditlines.ledger.models import Line, Reseller
from creditlines.money import amount_str
from creditlines.tenants import lookup


@dataclass(frozen=True)
class ExpiringRow:
    reseller_id: str
    reseller_name: str
    line_id: str
    programme_id: str | None
    funder: str
    limit: str = field(metadata=AMOUNT)
    drawn: str = field(metadata=AMOUNT)
    currency: str
    valid_until: str
    on_expiry: str | None


@dataclass(frozen=True)
class OverLimitRow:
    reseller_id: str
    reseller_name: str
    status: str
    total_limit: str = field(metadata=AMOUNT)
    total_drawn: str = field(metadata=AMOUNT)
    over_limit_by: str = field(metadata=AMOUNT)
    currency: str


def expiring(session: Session, *, distributor_id: str, within_days: int) -> Iterator[ExpiringRow]:
    """Active programme lines ending between today and today + ``within_days`` (local dates)."""
    if not 0 <= within_days <= 3660:
        raise ValidationFailed("within_days must be between 0 and 3660")
    distributor = lookup.require_distributor(session, distributor_id)
    today = clock.local_today(distributor.timezone)
    cur = distributor.currency
    stmt = (
        select(Line, Reseller.name)
        .join(Reseller, (Reseller.distributor_id == Line.distributor_id) & (Reseller.id == Line.reseller_id))
        .where(
            Line.distributor_id == distributor_id,
            Line.status == "active",
            Line.valid_until.is_not(None),
            Line.valid_until >= today,
            Line.valid_until <= today + timedelta(days=within_days),
        )
        .order_by(Line.valid_until, Line.reseller_id, Line.id)
        .execution_options(yield_per=2000)
    )
    for line, name in session.execute(stmt):
        yield ExpiringRow(
            line.reseller_id,
            name,
            line.id,
            line.programme_id,
            line.funder,
            amount_str(line.limit_minor, cur),
            amount_str(line.drawn_minor, cur),
            cur,
            line.valid_until.isoformat() if line.valid_until else "",
            line.on_expiry,
        )


def over_limit(session: Session, *, distributor_id: str) -> Iterator[OverLimitRow]:
    """Resellers whose drawn amount exceeds the limit of their current lines, largest excess first."""
    distributor = lookup.require_distributor(session, distributor_id)
    day: date = clock.local_today(distributor.timezone)
    cur = distributor.currency
    balances = ledger_repo.reseller_balances(distributor_id, day)
    excess = balances.c.drawn_minor - balances.c.limit_minor
    stmt = (
        select(Reseller.id, Reseller.name, Reseller.status, balances.c.limit_minor, balances.c.drawn_minor)
        .join(balances, balances.c.reseller_id == Reseller.id)
        .where(Reseller.distributor_id == distributor_id, excess > 0)
        .order_by(excess.desc(), Reseller.id)
    )
    for rid, name, status, limit_minor, drawn_minor in session.execute(stmt):
        yield OverLimitRow(
            rid,
            name,
            status,
            amount_str(int(limit_minor), cur),
            amount_str(int(drawn_minor), cur),
            amount_str(int(drawn_minor) - int(limit_minor), cur),
            cur,
        )


@dataclass(frozen=True)
class DayFigures:
    """The listings' figures of the day, at a glance (the console's Listings page)."""

    over_limit_count: int
    over_limit_by_minor: int  # summed excess of the resellers over limit
    expiring_count: int  # active programme lines ending from today to the end of the month
    expiring_limit_minor: int
    expiring_drawn_minor: int
    month_end: date
    currency: str


def day_figures(session: Session, *, distributor_id: str) -> DayFigures:
    """How many resellers are over limit and by how much; how much vendor credit ends this month
    (the same rows as :func:`over_limit` and :func:`expiring` to the month's end, summed in SQL)."""
    from sqlalchemy import func

    distributor = lookup.require_distributor(session, distributor_id)
    today = clock.local_today(distributor.timezone)
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    balances = ledger_repo.reseller_balances(distributor_id, today)
    excess = balances.c.drawn_minor - balances.c.limit_minor
    over_count, over_by = session.execute(
        select(func.count(), func.coalesce(func.sum(excess), 0))
        .select_from(balances)
        .join(Reseller, (Reseller.distributor_id == distributor_id) & (Reseller.id == balances.c.reseller_id))
        .where(excess > 0)
    ).one()
    count, limit_minor, drawn_minor = session.execute(
        select(
            func.count(), func.coalesce(func.sum(Line.limit_minor), 0), func.coalesce(func.sum(Line.drawn_minor), 0)
        ).where(
            Line.distributor_id == distributor_id,
            Line.status == "active",
            Line.valid_until.is_not(None),
            Line.valid_until >= today,
            Line.valid_until <= month_end,
        )
    ).one()
    return DayFigures(
        int(over_count),
        int(over_by),
        int(count),
        int(limit_minor),
        int(drawn_minor),
        month_end,
        distributor.currency,
    )


EXPIRING_FIELDS = list(ExpiringRow.__dataclass_fields__)
OVER_LIMIT_FIELDS = list(OverLimitRow.__dataclass_fields__)

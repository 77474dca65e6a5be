"""What the ledger's read and write operations answer: immutable views in Money.

The API and the console render these (api/render.py turns any of them into its JSON document);
nothing here reads the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from moneyed import Money

from creditlines import eligibility as elig
from creditlines.ledger.models import Reseller
from creditlines.money import from_minor


@dataclass(frozen=True)
class LineView:
    id: str
    kind: str
    programme_id: str | None
    vendor_id: str | None
    funder: str
    limit: Money
    drawn: Money
    available: Money
    valid_from: date
    valid_until: date | None
    status: str
    usable_for: str
    on_expiry: str | None


@dataclass(frozen=True)
class AvailabilityView:
    distributor_id: str
    reseller_id: str
    status: str
    as_of: datetime
    currency: str
    lines: list[LineView]
    total_limit: Money
    total_drawn: Money
    total_available: Money
    over_limit: bool
    overdue: Money  # SPEC §18: outstanding past its due date on the as_of local date
    oldest_overdue_days: int | None


@dataclass(frozen=True)
class PlanItemView:
    line_id: str
    kind: str
    funder: str
    amount: Money


@dataclass(frozen=True)
class DecisionView:
    eligible: bool
    requested: Money
    available: Money
    shortfall: Money
    plan: list[PlanItemView]
    reasons: list[elig.Reason]
    overdue_stop: OverdueStopView | None = None


@dataclass(frozen=True)
class OverdueStopView:
    overdue: Money
    after_days: int
    min_amount: Money


@dataclass(frozen=True)
class AllocationView:
    line_id: str
    funder: str
    amount: Money
    outstanding: Money


@dataclass(frozen=True)
class HoldView:
    """A held order's hold (SPEC §16): why, the shortfall then, when it was held, when it expires,
    when it was released (``None`` while held, cancelled or expired)."""

    reasons: list[str]
    shortfall: Money | None
    held_at: datetime
    expires_at: datetime
    released_at: datetime | None


@dataclass(frozen=True)
class DrawingView:
    reference: str
    amount: Money
    outstanding: Money
    status: str
    vendor_id: str | None
    allocations: list[AllocationView]
    created_at: datetime
    invoice_date: date
    due_on: date
    hold: HoldView | None = None  # a drawing posted with on_refusal "hold" and held


@dataclass(frozen=True)
class ResellerSummary:
    reseller: Reseller
    currency: str
    totals: elig.Totals
    overdue_minor: int = 0  # SPEC §18: past due today (creditlines.ledger.terms.overdue_now)
    oldest_overdue_days: int | None = None


def decision_view(decision: elig.Decision, currency: str) -> DecisionView:
    return DecisionView(
        eligible=decision.eligible,
        requested=from_minor(decision.requested, currency),
        available=from_minor(decision.available, currency),
        shortfall=from_minor(decision.shortfall, currency),
        plan=[PlanItemView(p.line_id, p.kind, p.funder, from_minor(p.amount, currency)) for p in decision.plan],
        reasons=list(decision.reasons),
        overdue_stop=None
        if decision.overdue_stop is None
        else OverdueStopView(
            from_minor(decision.overdue_stop.overdue, currency),
            decision.overdue_stop.after_days,
            from_minor(decision.overdue_stop.min_amount, currency),
        ),
    )

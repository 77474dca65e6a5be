"""Pure functions over immutable line states: effective state, waterfall, decisions.

Amounts are integer minor units of the distributor's currency; the callers convert at the
edges. Nothing here touches the database or the clock: the instant's local date is given.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

RESELLER_REFUSALS = {
    "on_hold": ("account_on_hold", "The reseller's account is on hold: no new drawing until it is lifted."),
    "terminated": ("reseller_terminated", "The reseller is terminated: it gets no credit."),
}


@dataclass(frozen=True, slots=True)
class LineState:
    id: str
    kind: str  # base | programme | financing
    funder: str
    programme_id: str | None
    vendor_id: str | None
    usable_for: str  # any | vendor_products
    on_expiry: str | None
    status: str  # active | expired | revoked
    limit: int
    drawn: int
    valid_from: date
    valid_until: date | None
    grant_seq: int
    granted_at: datetime | None = None
    order_reference: str | None = None  # a financing line: the one drawing that may use it

    @property
    def available(self) -> int:
        return self.limit - self.drawn


@dataclass(frozen=True, slots=True)
class PlanItem:
    line_id: str
    kind: str
    funder: str
    amount: int


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class StopState:
    """The distributor's overdue stop holding for a reseller (SPEC §18): ``overdue`` is its
    outstanding more than ``after_days`` overdue, at least ``min_amount`` (minor units)."""

    overdue: int
    after_days: int
    min_amount: int


STOP_MESSAGE = "Invoices overdue beyond the distributor's limit stop new drawings until they are paid."


@dataclass(frozen=True, slots=True)
class Decision:
    eligible: bool
    requested: int
    available: int
    shortfall: int
    plan: tuple[PlanItem, ...]
    reasons: tuple[Reason, ...]
    overdue_stop: StopState | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    limit: int
    drawn: int
    available: int
    over_limit: bool


def waterfall_key(line: LineState) -> tuple[int, date, int]:
    """The drawing's own financing line first, then base, then programme lines by earliest
    ``valid_until``, then oldest grant."""
    if line.kind == "financing":
        return (-1, date.min, line.grant_seq)
    if line.kind == "base":
        return (0, date.min, line.grant_seq)
    return (1, line.valid_until or date.max, line.grant_seq)


def effective_lines(lines: list[LineState] | tuple[LineState, ...], day: date) -> list[LineState]:
    """The lines as they stand on local date ``day``, whether or not the nightly job ran.

    An active line past its ``valid_until`` is expired from that instant: it gives no
    headroom, and under ``transfer_to_base`` what is still drawn on it weighs on the base
    line, exactly as the job will materialise it.
    """
    result: list[LineState] = []
    transferred = 0
    for line in lines:
        if line.status == "active" and line.valid_until is not None and day > line.valid_until:
            if line.on_expiry == "transfer_to_base" and line.drawn:
                transferred += line.drawn
                line = replace(line, status="expired", drawn=0)
            else:
                line = replace(line, status="expired")
        result.append(line)
    if transferred:
        result = [replace(line, drawn=line.drawn + transferred) if line.kind == "base" else line for line in result]
    return result


def is_current(line: LineState, day: date) -> bool:
    """Active and valid on ``day`` (``valid_until`` inclusive)."""
    return line.status == "active" and line.valid_from <= day and (line.valid_until is None or day <= line.valid_until)


def usable_for_drawing(line: LineState, day: date, vendor_id: str | None, reference: str | None = None) -> bool:
    if not is_current(line, day):
        return False
    if line.kind == "financing":  # single-purpose: only the drawing it finances
        return reference is not None and reference == line.order_reference
    if line.usable_for == "vendor_products":
        return vendor_id is not None and vendor_id == line.vendor_id
    return True


def totals(lines: list[LineState], day: date) -> Totals:
    """The availability view: every current line counts, vendor-restricted ones included;
    financing lines do not (they carry one order, never the reseller's other orders)."""
    current = [line for line in effective_lines(lines, day) if is_current(line, day) and line.kind != "financing"]
    limit = sum(line.limit for line in current)
    drawn = sum(line.drawn for line in current)
    return Totals(limit=limit, drawn=drawn, available=max(0, limit - drawn), over_limit=drawn > limit)


def decide(
    lines: list[LineState] | tuple[LineState, ...],
    *,
    amount: int,
    vendor_id: str | None,
    day: date,
    reseller_status: str,
    reference: str | None = None,
    stop: StopState | None = None,
) -> Decision:
    """Would a drawing of ``amount`` be accepted now, and how would it be allocated? With the
    drawing's ``reference``, the financing line of that order is usable too (first). ``stop``: the
    overdue stop when it holds for the reseller (its caller computed it, not from the ledger)."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    effective = effective_lines(lines, day)
    usable = sorted(
        (line for line in effective if usable_for_drawing(line, day, vendor_id, reference)), key=waterfall_key
    )
    available = max(0, sum(line.available for line in usable))
    reasons: list[Reason] = []
    if reseller_status in RESELLER_REFUSALS:
        code, message = RESELLER_REFUSALS[reseller_status]
        reasons.append(Reason(code, message))
    if stop is not None:
        reasons.append(Reason("overdue_stop", STOP_MESSAGE))
    shortfall = max(0, amount - available)
    if shortfall:
        reasons.append(Reason("insufficient_credit", "The order exceeds the credit available for it."))
    plan: list[PlanItem] = []
    if amount <= available:
        remaining = amount
        for line in usable:
            if remaining == 0:
                break
            take = min(remaining, max(0, line.available))
            if take:
                plan.append(PlanItem(line.id, line.kind, line.funder, take))
                remaining -= take
        assert remaining == 0, "total available covers the amount, so the waterfall must"
    return Decision(
        eligible=not reasons,
        requested=amount,
        available=available,
        shortfall=shortfall,
        plan=tuple(plan),
        reasons=tuple(reasons),
        overdue_stop=stop,
    )


def release_plan(outstanding_by_line: list[tuple[LineState, int]], amount: int) -> list[tuple[str, int]]:
    """Free ``amount`` from a drawing's allocations in reverse waterfall order.

    ``outstanding_by_line`` pairs each allocation's line with what is still outstanding on
    it. Vendor-funded money is freed first, the base line last.
    """
    total = sum(outstanding for _, outstanding in outstanding_by_line)
    if amount <= 0 or amount > total:
        raise ValueError("release must be positive and at most the outstanding")
    remaining = amount
    result: list[tuple[str, int]] = []
    for line, outstanding in sorted(outstanding_by_line, key=lambda pair: waterfall_key(pair[0]), reverse=True):
        if remaining == 0:
            break
        take = min(remaining, outstanding)
        if take:
            result.append((line.id, take))
            remaining -= take
    return result

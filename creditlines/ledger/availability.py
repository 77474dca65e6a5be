"""What a reseller may draw: its lines and totals now, as they stood, or projected; and the
eligibility answer ("may it order X?"), from the pure rules of :mod:`creditlines.eligibility`.
"""

from __future__ import annotations

from datetime import date, datetime

from moneyed import Money
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines import eligibility as elig
from creditlines.errors import NotFound
from creditlines.ledger import repository as repo
from creditlines.ledger import terms
from creditlines.ledger.fold import fold
from creditlines.ledger.models import Line, Reseller
from creditlines.ledger.views import AvailabilityView, DecisionView, LineView, decision_view
from creditlines.money import from_minor
from creditlines.tenants.lookup import DistributorInfo, require_distributor


def _fold_as_of(
    session: Session, distributor_id: str, reseller_id: str, at: datetime
) -> tuple[str | None, list[elig.LineState]]:
    """The reseller's status and lines as the ledger stood at instant ``at``."""
    statics = {line.id: line for line in repo.lines_of(session, distributor_id, reseller_id)}
    folded = fold(repo.entries_of(session, distributor_id, reseller_id, until=at))
    lines = []
    for line_id, state in folded.lines.items():
        static = statics[line_id]
        lines.append(
            elig.LineState(
                id=line_id,
                kind=static.kind,
                funder=static.funder,
                programme_id=static.programme_id,
                vendor_id=static.vendor_id,
                usable_for=static.usable_for,
                on_expiry=static.on_expiry,
                status=state.status or "active",
                limit=state.limit or 0,
                drawn=state.drawn,
                valid_from=static.valid_from,
                valid_until=state.valid_until,
                grant_seq=static.grant_seq,
                granted_at=static.granted_at,
            )
        )
    lines.sort(key=lambda s: s.grant_seq)
    return folded.status, lines


def current_state(session: Session, distributor_id: str, reseller_id: str) -> tuple[Reseller, list[Line]]:
    """The reseller and its lines, read together (no lock: the read paths)."""
    reseller, lines = repo.reseller_with_lines(session, distributor_id, reseller_id)
    if reseller is None:
        raise NotFound(f"reseller {reseller_id!r} does not exist at {distributor_id!r}")
    return reseller, lines


def availability(
    session: Session, *, distributor_id: str, reseller_id: str, as_of: datetime | None = None
) -> AvailabilityView:
    """Lines and totals. A past ``as_of`` reads the ledger as it stood; a future one projects."""
    distributor = require_distributor(session, distributor_id)
    now = clock.now()
    at = as_of or now
    reseller, rows = current_state(session, distributor_id, reseller_id)
    day = clock.local_date(at, distributor.timezone)
    if at < now:
        status, states = _fold_as_of(session, distributor_id, reseller_id, at)
        if status is None:
            raise NotFound(f"reseller {reseller_id!r} did not exist at {at.isoformat()}")
        overdue = terms.overdue_from_drawings(_drawings_as_of(session, distributor_id, reseller_id, at), day)
    else:
        status, states = reseller.status, [row.state() for row in rows]
        overdue = terms.overdue_now(session, distributor_id, reseller_id, day)
    effective = elig.effective_lines(states, day)
    totals = elig.totals(states, day)
    cur = distributor.currency
    shown = [s for s in effective if s.status == "active" or s.drawn > 0]
    shown.sort(key=elig.waterfall_key)
    return AvailabilityView(
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        status=status,
        as_of=at,
        currency=cur,
        lines=[
            LineView(
                id=s.id,
                kind=s.kind,
                programme_id=s.programme_id,
                vendor_id=s.vendor_id,
                funder=s.funder,
                limit=from_minor(s.limit, cur),
                drawn=from_minor(s.drawn, cur),
                available=from_minor(s.available, cur),
                valid_from=s.valid_from,
                valid_until=s.valid_until,
                status=s.status if s.status != "active" or elig.is_current(s, day) else "pending",
                usable_for=s.usable_for,
                on_expiry=s.on_expiry,
            )
            for s in shown
        ],
        total_limit=from_minor(totals.limit, cur),
        total_drawn=from_minor(totals.drawn, cur),
        total_available=from_minor(totals.available, cur),
        over_limit=totals.over_limit,
        overdue=from_minor(overdue.amount_minor, cur),
        oldest_overdue_days=overdue.oldest_days,
    )


def _drawings_as_of(session: Session, distributor_id: str, reseller_id: str, at: datetime) -> list[tuple[int, date]]:
    """(outstanding, due_on) of the reseller's drawings as the ledger stood at ``at``: posted
    amounts less the releases posted by then (due dates never change)."""
    outstanding: dict[str, int] = {}
    for entry in repo.entries_of(session, distributor_id, reseller_id, until=at):
        if entry.drawing_reference is None or entry.amount_minor is None:
            continue
        if entry.kind == "drawing_posted":
            outstanding[entry.drawing_reference] = outstanding.get(entry.drawing_reference, 0) + entry.amount_minor
        elif entry.kind == "release_posted":
            outstanding[entry.drawing_reference] = outstanding.get(entry.drawing_reference, 0) - entry.amount_minor
    due = terms.due_dates(session, distributor_id, reseller_id, list(outstanding))
    return [(amount, due[ref]) for ref, amount in outstanding.items() if ref in due]


def decide_now(
    distributor: DistributorInfo,
    reseller_status: str,
    states: list[elig.LineState],
    *,
    amount_minor: int,
    vendor_id: str | None,
    stop: elig.StopState | None = None,
    day: date | None = None,
) -> elig.Decision:
    """The eligibility decision on the distributor's local date (``day``, default today), with
    the overdue stop when it holds."""
    return elig.decide(
        states,
        amount=amount_minor,
        vendor_id=vendor_id,
        day=day or clock.local_today(distributor.timezone),
        reseller_status=reseller_status,
        stop=stop,
    )


def check_eligibility(
    session: Session, *, distributor_id: str, reseller_id: str, amount: Money, vendor_id: str | None = None
) -> DecisionView:
    """Would this order be accepted now? Posts nothing; reads the reseller and its lines.
    (The HTTP route reads the same rows through ``db.hot`` and calls ``decide_now``.)"""
    distributor = require_distributor(session, distributor_id)
    amount_minor = validation.amount_minor(amount, distributor.currency)
    reseller, rows = current_state(session, distributor_id, reseller_id)
    day = clock.local_today(distributor.timezone)
    stop = terms.policy_of(session, distributor_id).overdue_stop
    beyond = terms.stop_amount(session, distributor_id, reseller_id, day, stop)
    decision = decide_now(
        distributor,
        reseller.status,
        [row.state() for row in rows],
        amount_minor=amount_minor,
        vendor_id=vendor_id,
        stop=None if beyond is None or stop is None else elig.StopState(beyond, stop.after_days, stop.min_minor),
        day=day,
    )
    return decision_view(decision, distributor.currency)

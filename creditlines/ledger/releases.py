"""Releases: payments, cancellations and credit notes reducing a drawing, vendor money first."""

from __future__ import annotations

from moneyed import Money
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines import eligibility as elig
from creditlines.errors import IdempotencyConflict, InvalidAmount, NotFound, ReleaseExceedsOutstanding, ValidationFailed
from creditlines.ledger import events as ledger_events
from creditlines.ledger import journal, terms
from creditlines.ledger import repository as repo
from creditlines.ledger.drawing_reads import drawing_view
from creditlines.ledger.financing import after_financier_payment
from creditlines.ledger.held_release import release_held_orders
from creditlines.ledger.models import RELEASE_KINDS, Release
from creditlines.ledger.repository import require_reseller
from creditlines.ledger.views import DrawingView
from creditlines.money import from_minor
from creditlines.tenants.lookup import require_distributor


def release(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    drawing_reference: str,
    reference: str,
    amount: Money,
    kind: str,
    actor: str,
) -> tuple[DrawingView, bool]:
    """Reduce a drawing's outstanding (payment, cancellation, credit note), vendor money first.

    Accepted whatever the reseller's status: money coming in is never refused. Idempotent on
    ``reference`` per drawing. Returns (the drawing after it, created).
    """
    distributor = require_distributor(session, distributor_id)
    validation.reference(reference)
    if kind not in RELEASE_KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(RELEASE_KINDS)}")
    amount_minor = validation.amount_minor(amount, distributor.currency)
    if amount_minor <= 0:
        raise InvalidAmount("amount must be positive")
    reseller = require_reseller(session, distributor_id, reseller_id, lock=True)
    drawing = repo.get_drawing(session, distributor_id, reseller_id, drawing_reference)
    if drawing is None:
        raise NotFound(f"drawing {drawing_reference!r} does not exist for reseller {reseller_id!r}")
    existing = repo.get_release(session, distributor_id, reseller_id, drawing_reference, reference)
    if existing is not None:
        if existing.amount_minor != amount_minor or existing.kind != kind:
            raise IdempotencyConflict(f"release {reference!r} was already posted with a different amount or kind")
        return drawing_view(session, drawing, distributor.currency), False
    if amount_minor > drawing.outstanding_minor:
        cur = distributor.currency
        raise ReleaseExceedsOutstanding(
            f"release of {from_minor(amount_minor, cur).amount} {cur} exceeds the outstanding "
            f"{from_minor(drawing.outstanding_minor, cur).amount} {cur} of {drawing_reference}",
            outstanding=from_minor(drawing.outstanding_minor, cur),
        )
    now = clock.now()
    allocations = repo.allocations_of(session, distributor_id, reseller_id, [drawing_reference])
    lines = {line.id: line for line in repo.lines_of(session, distributor_id, reseller_id)}
    by_line = {a.line_id: a for a in allocations}
    plan = _plan(kind, [(lines[a.line_id].state(), a.outstanding_minor) for a in allocations], amount_minor)
    session.add(
        Release(
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            drawing_reference=drawing_reference,
            reference=reference,
            amount_minor=amount_minor,
            kind=kind,
            created_at=now,
            created_by=actor,
        )
    )
    session.flush()
    journal.append(
        session,
        reseller,
        kind="release_posted",
        actor=actor,
        at=now,
        drawing_reference=drawing_reference,
        release_reference=reference,
        amount_minor=amount_minor,
        details={"kind": kind},
    )
    for line_id, freed in plan:
        alloc = by_line[line_id]
        alloc.outstanding_minor -= freed
        lines[line_id].drawn_minor -= freed
        journal.append(
            session,
            reseller,
            kind="release_applied",
            actor=actor,
            at=now,
            line_id=line_id,
            drawing_reference=drawing_reference,
            release_reference=reference,
            drawn_delta_minor=-freed,
        )
    drawing.outstanding_minor -= amount_minor
    drawing.status = "settled" if drawing.outstanding_minor == 0 else "open"
    ledger_events.released(
        session,
        reseller,
        drawing=drawing,
        release_reference=reference,
        amount_minor=amount_minor,
        lines=lines.values(),
        plan=plan,
        at=now,
    )
    session.flush()
    if kind == "financier_payment":
        after_financier_payment(session, drawing, allocations, now)
    terms.maybe_cleared(  # first: a held order waiting on the stop may fit once it is cleared
        session, reseller, day=clock.local_date(now, distributor.timezone), at=now, cause=f"release:{reference}"
    )
    release_held_orders(session, reseller, actor=actor, cause="release", at=now, lines=list(lines.values()))
    return drawing_view(session, drawing, distributor.currency, allocations), True


def _plan(kind: str, outstanding: list[tuple[elig.LineState, int]], amount_minor: int) -> list[tuple[str, int]]:
    """Reverse waterfall order (vendor-funded first, the base last); a ``financier_payment`` frees
    the drawing's financing allocation first (SPEC §17), then the rest in that order."""
    outstanding = [(state, minor) for state, minor in outstanding if minor > 0]
    first: list[tuple[str, int]] = []
    if kind == "financier_payment":
        for state, minor in outstanding:
            if state.kind == "financing" and amount_minor > 0:
                take = min(minor, amount_minor)
                first.append((state.id, take))
                amount_minor -= take
        taken = dict(first)
        outstanding = [(state, minor - taken.get(state.id, 0)) for state, minor in outstanding]
        outstanding = [(state, minor) for state, minor in outstanding if minor > 0]
    if amount_minor == 0:
        return first
    return first + elig.release_plan(outstanding, amount_minor)

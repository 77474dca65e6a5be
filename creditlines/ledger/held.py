"""Held orders (SPEC §16): drawings that wait for credit, released when it appears.

A drawing posted with ``on_refusal: "hold"`` and refused for insufficient credit or an account
on hold is stored as ``held`` (by ``creditlines_draw`` on PostgreSQL, by the Python path
elsewhere). It reserves nothing. Every change that may free credit for its reseller calls
:func:`~creditlines.ledger.held_release.release_held_orders` (written set-wise) in its own
transaction, under the reseller's lock it already holds: a release, a base-limit raise (an
approved request included), a line granted or extended, a hold lifted, a financing for the
order — and an overdue stop cleared (§18 calls the same function). The re-check costs
nothing when the reseller has no held order: ``reseller.held_count`` is on the row the caller
locked, so no query is run; otherwise one indexed read (``ix_drawing_held``) in ``held_at``
then reference order.

A held order not released within the distributor's ``hold_days`` is expired from its
``hold_expires_at``: shown so at read time, never released after it, and written ``expired``
(with its event) by the next re-check or the nightly job (:func:`run_held_orders`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from moneyed import Money
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines import eligibility as elig
from creditlines.db.engine import fresh
from creditlines.errors import NotFound, NotHeld, ValidationFailed
from creditlines.ledger import held_events
from creditlines.ledger import repository as repo
from creditlines.ledger.drawing_reads import drawing_view
from creditlines.ledger.held_release import HeldOutcome, release_held_orders
from creditlines.ledger.models import Drawing, Reseller
from creditlines.ledger.repository import require_reseller
from creditlines.ledger.views import DrawingView
from creditlines.money import from_minor
from creditlines.tenants.lookup import require_distributor
from creditlines.tenants.models import Distributor


def _end(session: Session, reseller: Reseller, drawing: Drawing, status: str, at: datetime) -> None:
    drawing.status, drawing.hold_ended_at = status, at
    reseller.held_count -= 1
    held_events.hold_ended(session, drawing, at=at)


def cancel_held_order(
    session: Session, *, distributor_id: str, reseller_id: str, reference: str, actor: str
) -> DrawingView:
    """Cancel a held order (``DELETE …/drawings/{ref}``): ``cancelled``, nothing drawn. On a drawing
    that is not held (open, settled, expired — by the clock too) ``not_held``; on one already
    cancelled, the drawing as it is (a repeated DELETE changes nothing)."""
    distributor = require_distributor(session, distributor_id)
    reseller = require_reseller(session, distributor_id, reseller_id, lock=True)
    drawing = session.scalars(
        fresh(
            session,
            select(Drawing).where(
                Drawing.distributor_id == distributor_id,
                Drawing.reseller_id == reseller_id,
                Drawing.reference == reference,
            ),
        )
    ).one_or_none()
    if drawing is None:
        raise NotFound(f"drawing {reference!r} does not exist for reseller {reseller_id!r}")
    now = clock.now()
    if drawing.status == "cancelled":
        return drawing_view(session, drawing, distributor.currency, [])
    if drawing.status != "held" or (drawing.hold_expires_at is not None and now >= drawing.hold_expires_at):
        shown = "expired" if drawing.status == "held" else drawing.status
        raise NotHeld(f"drawing {reference!r} is {shown}, not held", drawing_status=shown)
    _end(session, reseller, drawing, "cancelled", now)
    session.flush()
    return drawing_view(session, drawing, distributor.currency, [])


def run_held_orders(
    session: Session, *, distributor_id: str | None = None, actor: str = "job:held-orders"
) -> HeldOutcome:
    """The nightly re-check: every reseller with a held order, locked in id order (per
    distributor), expired ones written ``expired``, those that fit released."""
    stmt = select(Drawing.distributor_id, Drawing.reseller_id).where(Drawing.status == "held").distinct()
    if distributor_id is not None:
        stmt = stmt.where(Drawing.distributor_id == distributor_id)
    pairs = sorted((d, r) for d, r in session.execute(stmt))
    released: list[str] = []
    expired: list[str] = []
    by_distributor: dict[str, list[str]] = {}
    for d, r in pairs:
        by_distributor.setdefault(d, []).append(r)
    for d, ids in by_distributor.items():
        for reseller in repo.lock_resellers(session, d, ids):
            outcome = release_held_orders(session, reseller, actor=actor, cause="nightly")
            released += outcome.released
            expired += outcome.expired
    return HeldOutcome(released, expired)


def set_hold_days(session: Session, *, distributor_id: str, hold_days: int | None) -> Distributor:
    """The distributor's ``hold_days`` (1–90): held from now on expire that many days after
    ``held_at``; orders already held keep the expiry they were given."""
    require_distributor(session, distributor_id)
    row = session.get(Distributor, distributor_id)
    assert row is not None
    if hold_days is not None:
        if not 1 <= hold_days <= 90:
            raise ValidationFailed("hold_days must be between 1 and 90")
        row.hold_days = hold_days
        session.flush()
    return row


def get_hold_days(session: Session, distributor_id: str) -> int:
    row = session.get(Distributor, distributor_id)
    return row.hold_days if row is not None else 7


@dataclass(frozen=True)
class HeldOrderRow:
    """A held order in the distributor's list: its reseller and its shortfall now."""

    reseller_id: str
    drawing: DrawingView
    available_now: Money
    shortfall_now: Money


def list_held_orders(
    session: Session, *, distributor_id: str, limit: int, after: tuple[datetime, str, str] | None = None
) -> list[HeldOrderRow]:
    """Held orders of a distributor, oldest first (``held_at``, reseller, reference), each with what
    it lacks now; those past their expiry are left out (they are expired from that instant)."""
    distributor = require_distributor(session, distributor_id)
    now = clock.now()
    stmt = select(Drawing).where(
        Drawing.distributor_id == distributor_id, Drawing.status == "held", Drawing.hold_expires_at > now
    )
    if after is not None:
        held_at, reseller_id, reference = after
        stmt = stmt.where(
            (Drawing.held_at > held_at)
            | ((Drawing.held_at == held_at) & (Drawing.reseller_id > reseller_id))
            | ((Drawing.held_at == held_at) & (Drawing.reseller_id == reseller_id) & (Drawing.reference > reference))
        )
    drawings = list(
        session.scalars(stmt.order_by(Drawing.held_at, Drawing.reseller_id, Drawing.reference).limit(limit))
    )
    lines = repo.lines_of_many(session, distributor_id, sorted({d.reseller_id for d in drawings}))
    states: dict[str, list[elig.LineState]] = {}
    for line in lines:
        states.setdefault(line.reseller_id, []).append(line.state())
    day = clock.local_date(now, distributor.timezone)
    cur = distributor.currency
    rows = []
    for d in drawings:
        decision = elig.decide(
            states.get(d.reseller_id, []),
            amount=d.amount_minor,
            vendor_id=d.vendor_id,
            day=day,
            reseller_status="active",
            reference=d.reference,
        )
        rows.append(
            HeldOrderRow(
                reseller_id=d.reseller_id,
                drawing=drawing_view(session, d, cur, []),
                available_now=from_minor(decision.available, cur),
                shortfall_now=from_minor(decision.shortfall, cur),
            )
        )
    return rows


@dataclass(frozen=True)
class HeldListingRow:
    """One held order as a flat row: the CSV of ``GET …/held-orders`` and the console's listing."""

    reseller_id: str
    reference: str
    held_at: str
    expires_at: str
    amount: str = field(metadata={"amount": True})
    vendor_id: str | None
    reasons: str
    available_now: str = field(metadata={"amount": True})
    shortfall_now: str = field(metadata={"amount": True})


HELD_FIELDS = list(HeldListingRow.__dataclass_fields__)


def held_listing(session: Session, *, distributor_id: str, limit: int = 10_000) -> list[HeldListingRow]:
    """The distributor's held orders, oldest first, as flat rows (amounts as plain numbers)."""
    rows = []
    for row in list_held_orders(session, distributor_id=distributor_id, limit=limit):
        d, hold = row.drawing, row.drawing.hold
        assert hold is not None
        rows.append(
            HeldListingRow(
                reseller_id=row.reseller_id,
                reference=d.reference,
                held_at=hold.held_at.isoformat(),
                expires_at=hold.expires_at.isoformat(),
                amount=str(d.amount.amount),
                vendor_id=d.vendor_id,
                reasons=" ".join(hold.reasons),
                available_now=str(row.available_now.amount),
                shortfall_now=str(row.shortfall_now.amount),
            )
        )
    return rows

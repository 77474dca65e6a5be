"""Drawings (orders on credit): posted down the waterfall, replayed by reference, listed.

One rule, two engines: on PostgreSQL the function ``creditlines_draw`` (creditlines/db/sql/)
posts a drawing in one statement; elsewhere :func:`draw_in_python` does the same in a
transaction. Both return the same outcome document, read once into a typed
:class:`DrawResult`; tests/ledger/test_draw_parity.py compares their rows column by column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from moneyed import Money
from sqlalchemy import text
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines import eligibility as elig
from creditlines.db.engine import is_postgresql
from creditlines.errors import (
    AccountOnHold,
    IdempotencyConflict,
    InsufficientCredit,
    InvalidAmount,
    NotFound,
    OverdueStop,
    ResellerTerminated,
    ValidationFailed,
)
from creditlines.ledger import events as ledger_events
from creditlines.ledger import repository as repo
from creditlines.ledger import terms
from creditlines.ledger.drawing_reads import as_date, shown_status
from creditlines.ledger.holding import hold_order
from creditlines.ledger.models import Allocation, Drawing
from creditlines.ledger.posting import drawing_document, post_plan
from creditlines.ledger.views import AllocationView, DrawingView, HoldView
from creditlines.money import from_minor
from creditlines.tenants.lookup import DistributorInfo, require_distributor


def _instant(value: Any) -> datetime:
    at: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


DRAW_SQL = (
    "SELECT creditlines_draw(:d, :r, :reference, :amount, :vendor, :actor, :now, :day, :on_refusal,"
    " :invoice_date, :due_on)"
)


class DrawOutcome(StrEnum):
    """What became of a drawing request; both engines answer one of these."""

    CREATED = "created"
    REPLAYED = "replayed"
    HELD = "held"  # refused, stored as a held order (on_refusal "hold", SPEC §16)
    NOT_FOUND = "not_found"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    RESELLER_TERMINATED = "reseller_terminated"
    ACCOUNT_ON_HOLD = "account_on_hold"
    INSUFFICIENT_CREDIT = "insufficient_credit"
    OVERDUE_STOP = "overdue_stop"


@dataclass(frozen=True)
class DrawingRequest:
    """A drawing as asked, checked before anything is read: reference alphabet, currency,
    minor units, positive amount, a due date not before the invoice date (SPEC §18);
    ``on_refusal`` "refuse" (default) or "hold"."""

    distributor: DistributorInfo
    reseller_id: str
    reference: str
    amount_minor: int
    vendor_id: str | None
    actor: str
    on_refusal: str = "refuse"
    invoice_date: date | None = None
    due_on: date | None = None

    @classmethod
    def of(
        cls,
        distributor: DistributorInfo,
        *,
        reseller_id: str,
        reference: str,
        amount: Money,
        vendor_id: str | None,
        actor: str,
        on_refusal: str = "refuse",
        invoice_date: date | None = None,
        due_on: date | None = None,
    ) -> DrawingRequest:
        validation.reference(reference)
        amount_minor = validation.amount_minor(amount, distributor.currency)
        if amount_minor <= 0:
            raise InvalidAmount("amount must be positive")
        if on_refusal not in ("refuse", "hold"):
            raise ValidationFailed("on_refusal must be refuse or hold")
        terms.check_dates(invoice_date, due_on, clock.local_today(distributor.timezone))
        return cls(
            distributor, reseller_id, reference, amount_minor, vendor_id, actor, on_refusal, invoice_date, due_on
        )

    def params(self) -> dict[str, Any]:
        """The arguments of ``creditlines_draw``, the instant and the distributor's local date included."""
        now = clock.now()
        return {
            "d": self.distributor.id,
            "r": self.reseller_id,
            "reference": self.reference,
            "amount": self.amount_minor,
            "vendor": self.vendor_id,
            "actor": self.actor,
            "now": now.astimezone(UTC).replace(tzinfo=None),
            "day": clock.local_date(now, self.distributor.timezone),
            "on_refusal": self.on_refusal,
            "invoice_date": self.invoice_date,
            "due_on": self.due_on,
        }


@dataclass(frozen=True)
class DrawResult:
    """The typed outcome of a drawing: the drawing when created or replayed, the available and
    shortfall amounts (minor units) when credit was insufficient."""

    outcome: DrawOutcome
    request: DrawingRequest
    drawing: DrawingView | None = None
    available_minor: int = 0
    shortfall_minor: int = 0
    overdue_minor: int = 0  # overdue_stop: what is overdue beyond the policy's after_days
    stop_after_days: int = 0
    stop_min_minor: int = 0

    @classmethod
    def of(cls, document: Mapping[str, Any], request: DrawingRequest) -> DrawResult:
        """Read the outcome document both engines return (JSON from PostgreSQL, a dict in Python)."""
        outcome = DrawOutcome(document["outcome"])
        if outcome is DrawOutcome.INSUFFICIENT_CREDIT:
            return cls(outcome, request, available_minor=document["available"], shortfall_minor=document["shortfall"])
        if outcome is DrawOutcome.OVERDUE_STOP:
            return cls(
                outcome,
                request,
                overdue_minor=document["overdue"],
                stop_after_days=document["after_days"],
                stop_min_minor=document["min_amount"],
            )
        if outcome not in (DrawOutcome.CREATED, DrawOutcome.REPLAYED, DrawOutcome.HELD):
            return cls(outcome, request)
        cur = request.distributor.currency
        hold, held = None, document.get("hold")
        if held is not None:
            expires_at = _instant(held["expires_at"])
            hold = HoldView(
                reasons=list(held["reasons"]),
                shortfall=None if held["shortfall"] is None else from_minor(held["shortfall"], cur),
                held_at=_instant(held["held_at"]),
                expires_at=expires_at,
                released_at=None if held["released_at"] is None else _instant(held["released_at"]),
            )
        drawing = DrawingView(
            reference=request.reference,
            amount=from_minor(document["amount"], cur),
            outstanding=from_minor(document["outstanding"], cur),
            status=shown_status(document["status"], hold.expires_at if hold else None),
            vendor_id=document["vendor_id"],
            created_at=_instant(document["created_at"]),
            invoice_date=as_date(document["invoice_date"]),
            due_on=as_date(document["due_on"]),
            allocations=[
                AllocationView(line_id, funder, from_minor(amount, cur), from_minor(outstanding, cur))
                for line_id, funder, amount, outstanding in document["allocations"]
            ],
            hold=hold,
        )
        return cls(outcome, request, drawing=drawing)

    def accepted(self) -> tuple[DrawingView, bool]:
        """(the drawing, created now: posted or held); a refusal raises its error (``not_found``,
        ``idempotency_conflict``, ``reseller_terminated``, ``account_on_hold``, ``insufficient_credit``)."""
        if self.drawing is not None:
            return self.drawing, self.outcome in (DrawOutcome.CREATED, DrawOutcome.HELD)
        req, cur = self.request, self.request.distributor.currency
        match self.outcome:
            case DrawOutcome.NOT_FOUND:
                raise NotFound(f"reseller {req.reseller_id!r} does not exist at {req.distributor.id!r}")
            case DrawOutcome.IDEMPOTENCY_CONFLICT:
                raise IdempotencyConflict(
                    f"drawing {req.reference!r} was already posted with a different amount or vendor"
                )
            case DrawOutcome.RESELLER_TERMINATED:
                raise ResellerTerminated(f"reseller {req.reseller_id!r} is terminated")
            case DrawOutcome.ACCOUNT_ON_HOLD:
                raise AccountOnHold(f"reseller {req.reseller_id!r} is on hold")
            case DrawOutcome.OVERDUE_STOP:
                overdue, minimum = from_minor(self.overdue_minor, cur), from_minor(self.stop_min_minor, cur)
                raise OverdueStop(
                    f"reseller {req.reseller_id!r} owes {overdue.amount} {cur} more than "
                    f"{self.stop_after_days} days overdue (the stop starts at {minimum.amount} {cur})",
                    overdue=overdue,
                    after_days=self.stop_after_days,
                    min_amount=minimum,
                )
            case _:
                raise InsufficientCredit(
                    f"{req.reference}: requested {from_minor(req.amount_minor, cur).amount} {cur}, "
                    f"available {from_minor(self.available_minor, cur).amount} {cur}",
                    available=from_minor(self.available_minor, cur),
                    shortfall=from_minor(self.shortfall_minor, cur),
                )


def draw(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    reference: str,
    amount: Money,
    vendor_id: str | None = None,
    actor: str,
    on_refusal: str = "refuse",
    invoice_date: date | None = None,
    due_on: date | None = None,
) -> tuple[DrawingView, bool]:
    """Post a drawing: allocate it down the waterfall. Returns (drawing, created).

    The same reference with the same body returns the stored drawing (created False);
    with a different body it is an ``idempotency_conflict``. A refused drawing stores
    nothing but its ``drawing.refused`` event, so the ERP may retry the reference once credit
    is freed. A refusal raises inside the caller's transaction; :func:`draw_result` does not.
    """
    return draw_result(
        session,
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        reference=reference,
        amount=amount,
        vendor_id=vendor_id,
        actor=actor,
        on_refusal=on_refusal,
        invoice_date=invoice_date,
        due_on=due_on,
    ).accepted()


def draw_result(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    reference: str,
    amount: Money,
    vendor_id: str | None = None,
    actor: str,
    on_refusal: str = "refuse",
    invoice_date: date | None = None,
    due_on: date | None = None,
) -> DrawResult:
    """:func:`draw` without raising a refusal, so that the caller can commit the refusal's event
    before it raises with :meth:`DrawResult.accepted`."""
    distributor = require_distributor(session, distributor_id)
    request = DrawingRequest.of(
        distributor,
        reseller_id=reseller_id,
        reference=reference,
        amount=amount,
        vendor_id=vendor_id,
        actor=actor,
        on_refusal=on_refusal,
        invoice_date=invoice_date,
        due_on=due_on,
    )
    return post(session, request)


def post(session: Session, request: DrawingRequest) -> DrawResult:
    """Run the drawing on the session's database: the PostgreSQL function, or the Python path."""
    if is_postgresql(session):
        document = session.execute(text(DRAW_SQL), request.params()).scalar_one()
        session.expire_all()  # the function changed rows this session may hold
    else:
        document = draw_in_python(session, request)
    return DrawResult.of(document, request)


def _drawing_result(outcome: str, drawing: Drawing, allocations: list[Allocation]) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "amount": drawing.amount_minor,
        "outstanding": drawing.outstanding_minor,
        "status": drawing.status,
        "vendor_id": drawing.vendor_id,
        "created_at": drawing.created_at,
        "invoice_date": drawing.invoice_date.isoformat(),
        "due_on": drawing.due_on.isoformat(),
        "allocations": [
            [a.line_id, a.funder, a.amount_minor, a.outstanding_minor]
            for a in sorted(allocations, key=lambda a: a.position)
        ],
    }


def draw_in_python(session: Session, request: DrawingRequest) -> dict[str, Any]:
    """The drawing rules in Python (SQLite, and the parity test on PostgreSQL), with the events
    ``creditlines_draw`` writes; returns the same outcome document as the function."""
    document = _allocate(session, request)
    ledger_events.after_draw(
        session,
        distributor_id=request.distributor.id,
        reseller_id=request.reseller_id,
        reference=request.reference,
        amount_minor=request.amount_minor,
        vendor_id=request.vendor_id,
        result=document,
    )
    if document["outcome"] == DrawOutcome.OVERDUE_STOP or document.get("overdue_stop"):
        stop_doc = document if document["outcome"] == DrawOutcome.OVERDUE_STOP else document["overdue_stop"]
        reseller = repo.get_reseller(session, request.distributor.id, request.reseller_id, lock=True)
        assert reseller is not None
        terms.stop_found(
            session,
            reseller,
            overdue_minor=stop_doc["overdue"],
            stop=terms.OverdueStop(stop_doc["after_days"], stop_doc["min_amount"]),
            at=clock.now(),
            cause="drawing",
            reference=request.reference,
        )
    if document["outcome"] == "held":  # what the events needed, not in the function's answer
        del document["available"], document["hold_days"]
        document.pop("overdue_stop", None)
    return document


def _allocate(session: Session, request: DrawingRequest) -> dict[str, Any]:
    distributor_id, reseller_id, reference = request.distributor.id, request.reseller_id, request.reference
    amount_minor, vendor_id = request.amount_minor, request.vendor_id
    reseller = repo.get_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller is None:
        return {"outcome": "not_found"}
    existing = repo.get_drawing(session, distributor_id, reseller_id, reference)
    if existing is not None:
        if (
            existing.amount_minor != amount_minor
            or existing.vendor_id != vendor_id
            or request.invoice_date not in (None, existing.invoice_date)
            or request.due_on not in (None, existing.due_on)
        ):
            return {"outcome": "idempotency_conflict"}
        return drawing_document(
            "replayed", existing, repo.allocations_of(session, distributor_id, reseller_id, [reference])
        )
    hold = request.on_refusal == "hold"
    if reseller.status == "terminated":
        return {"outcome": "reseller_terminated"}
    if reseller.status == "on_hold" and not hold:
        return {"outcome": "account_on_hold"}
    now = clock.now()
    day = clock.local_date(now, request.distributor.timezone)
    policy = terms.policy_of(session, distributor_id)
    overdue = terms.stop_amount(session, distributor_id, reseller_id, day, policy.overdue_stop)
    stopped = None
    if overdue is not None and policy.overdue_stop is not None:
        stop = policy.overdue_stop
        stopped = {
            "outcome": "overdue_stop",
            "overdue": overdue,
            "after_days": stop.after_days,
            "min_amount": stop.min_minor,
        }
        if not hold:
            return stopped
    invoice_date, due_on = terms.drawing_dates(
        request.invoice_date, request.due_on, day, terms.terms_days_of(reseller, policy)
    )
    lines = repo.lines_of(session, distributor_id, reseller_id)
    decision = elig.decide(
        [row.state() for row in lines],
        amount=amount_minor,
        vendor_id=vendor_id,
        day=day,
        reseller_status=reseller.status,
        reference=reference,
    )
    if (not decision.eligible or stopped) and hold:
        return hold_order(session, request, reseller, decision, now, (invoice_date, due_on), stopped)
    if not decision.eligible:
        return {"outcome": "insufficient_credit", "available": decision.available, "shortfall": decision.shortfall}
    drawing = Drawing(
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        reference=reference,
        amount_minor=amount_minor,
        outstanding_minor=amount_minor,
        vendor_id=vendor_id,
        status="open",
        created_at=now,
        created_by=request.actor,
        invoice_date=invoice_date,
        due_on=due_on,
    )
    session.add(drawing)
    session.flush()  # the drawing row before the allocations that reference it
    lines_by_id = {line.id: line for line in lines}
    allocations = post_plan(session, reseller, drawing, decision.plan, lines_by_id, actor=request.actor, at=now)
    return drawing_document("created", drawing, allocations)

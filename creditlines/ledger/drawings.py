"""Drawings (orders on credit): posted down the waterfall, replayed by reference, listed.

One rule, two engines: on PostgreSQL the function ``creditlines_draw`` (creditlines/db/sql/)
posts a drawing in one statement; elsewhere :func:`draw_in_python` does the same in a
transaction. Both return the same outcome document, read once into a typed
:class:`DrawResult`; tests/ledger/test_draw_parity.py compares their rows column by column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import anyio.to_thread
from moneyed import Money
from sqlalchemy import text
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines import eligibility as elig
from creditlines.db.engine import UnitOfWork, is_postgresql
from creditlines.db.hot import HotPath
from creditlines.db.retry import retry_transient, retry_transient_async
from creditlines.errors import (
    AccountOnHold,
    IdempotencyConflict,
    InsufficientCredit,
    InvalidAmount,
    NotFound,
    ResellerTerminated,
    ValidationFailed,
)
from creditlines.ledger import events as ledger_events
from creditlines.ledger import repository as repo
from creditlines.ledger.models import Allocation, Drawing
from creditlines.ledger.posting import drawing_document, post_plan
from creditlines.ledger.repository import require_reseller
from creditlines.ledger.views import AllocationView, DrawingView, HoldView
from creditlines.money import from_minor
from creditlines.tenants.lookup import DistributorInfo, require_distributor
from creditlines.tenants.models import Distributor


def drawing_view(
    session: Session, drawing: Drawing, currency: str, allocations: list[Allocation] | None = None
) -> DrawingView:
    if allocations is None:
        allocations = (
            []
            if drawing.status in ("held", "cancelled", "expired")
            else repo.allocations_of(session, drawing.distributor_id, drawing.reseller_id, [drawing.reference])
        )
    hold = None
    if drawing.held_at is not None and drawing.hold_expires_at is not None:
        shortfall = drawing.hold_shortfall_minor
        hold = HoldView(
            reasons=drawing.hold_reasons.split(",") if drawing.hold_reasons else [],
            shortfall=None if shortfall is None else from_minor(shortfall, currency),
            held_at=drawing.held_at,
            expires_at=drawing.hold_expires_at,
            released_at=drawing.hold_released_at,
        )
    return DrawingView(
        reference=drawing.reference,
        amount=from_minor(drawing.amount_minor, currency),
        outstanding=from_minor(drawing.outstanding_minor, currency),
        status=shown_status(drawing.status, drawing.hold_expires_at),
        vendor_id=drawing.vendor_id,
        allocations=[
            AllocationView(
                a.line_id, a.funder, from_minor(a.amount_minor, currency), from_minor(a.outstanding_minor, currency)
            )
            for a in sorted(allocations, key=lambda a: a.position)
        ],
        created_at=drawing.created_at,
        hold=hold,
    )


def shown_status(status: str, expires_at: datetime | None) -> str:
    """A held order past its expiry is ``expired`` from that instant, whether or not the job ran."""
    if status == "held" and expires_at is not None and clock.now() >= expires_at:
        return "expired"
    return status


def _instant(value: Any) -> datetime:
    at: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


DRAW_SQL = "SELECT creditlines_draw(:d, :r, :reference, :amount, :vendor, :actor, :now, :day, :on_refusal)"
DRAW_PG = re.sub(r":(\w+)", r"%(\1)s", DRAW_SQL)  # the same call in psycopg's parameter style


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


@dataclass(frozen=True)
class DrawingRequest:
    """A drawing as asked, checked before anything is read: reference alphabet, currency,
    minor units, positive amount; ``on_refusal`` "refuse" (default) or "hold"."""

    distributor: DistributorInfo
    reseller_id: str
    reference: str
    amount_minor: int
    vendor_id: str | None
    actor: str
    on_refusal: str = "refuse"

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
    ) -> DrawingRequest:
        validation.reference(reference)
        amount_minor = validation.amount_minor(amount, distributor.currency)
        if amount_minor <= 0:
            raise InvalidAmount("amount must be positive")
        if on_refusal not in ("refuse", "hold"):
            raise ValidationFailed("on_refusal must be refuse or hold")
        return cls(distributor, reseller_id, reference, amount_minor, vendor_id, actor, on_refusal)

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

    @classmethod
    def of(cls, document: Mapping[str, Any], request: DrawingRequest) -> DrawResult:
        """Read the outcome document both engines return (JSON from PostgreSQL, a dict in Python)."""
        outcome = DrawOutcome(document["outcome"])
        if outcome is DrawOutcome.INSUFFICIENT_CREDIT:
            return cls(outcome, request, available_minor=document["available"], shortfall_minor=document["shortfall"])
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


class DrawingDesk:
    """The HTTP API's one way to post a drawing, its engine chosen once at start-up: on PostgreSQL
    one statement from the event loop through the hot pool (the function commits with its
    statement, a refusal's event included); elsewhere a write transaction in the threadpool,
    committed before a refusal is raised. Deadlocks and serialization failures are retried."""

    def __init__(self, uow: UnitOfWork, hot: HotPath) -> None:
        self._uow, self._hot = uow, hot
        self._engine = self._in_postgresql if hot.is_postgresql else self._in_python

    async def post(self, request: DrawingRequest) -> DrawResult:
        return await self._engine(request)

    async def _in_postgresql(self, request: DrawingRequest) -> DrawResult:
        rows = await retry_transient_async(self._hot.fetch)(DRAW_PG, request.params())
        return DrawResult.of(rows[0][0], request)

    async def _in_python(self, request: DrawingRequest) -> DrawResult:
        return await anyio.to_thread.run_sync(self._transaction, request)

    @retry_transient
    def _transaction(self, request: DrawingRequest) -> DrawResult:
        with self._uow.write() as session:
            return post(session, request)


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
    if document["outcome"] == "held":  # what the events needed, not in the function's answer
        del document["available"], document["hold_days"]
    return document


def _allocate(session: Session, request: DrawingRequest) -> dict[str, Any]:
    distributor_id, reseller_id, reference = request.distributor.id, request.reseller_id, request.reference
    amount_minor, vendor_id = request.amount_minor, request.vendor_id
    reseller = repo.get_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller is None:
        return {"outcome": "not_found"}
    existing = repo.get_drawing(session, distributor_id, reseller_id, reference)
    if existing is not None:
        if existing.amount_minor != amount_minor or existing.vendor_id != vendor_id:
            return {"outcome": "idempotency_conflict"}
        return drawing_document(
            "replayed", existing, repo.allocations_of(session, distributor_id, reseller_id, [reference])
        )
    hold = request.on_refusal == "hold"
    if reseller.status == "terminated":
        return {"outcome": "reseller_terminated"}
    if reseller.status == "on_hold" and not hold:
        return {"outcome": "account_on_hold"}
    lines = repo.lines_of(session, distributor_id, reseller_id)
    now = clock.now()
    decision = elig.decide(
        [row.state() for row in lines],
        amount=amount_minor,
        vendor_id=vendor_id,
        day=clock.local_date(now, request.distributor.timezone),
        reseller_status=reseller.status,
        reference=reference,
    )
    if not decision.eligible and hold:
        return _hold(session, request, reseller, decision, now)
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
    )
    session.add(drawing)
    session.flush()  # the drawing row before the allocations that reference it
    lines_by_id = {line.id: line for line in lines}
    allocations = post_plan(session, reseller, drawing, decision.plan, lines_by_id, actor=request.actor, at=now)
    return drawing_document("created", drawing, allocations)


def _hold(
    session: Session, request: DrawingRequest, reseller: Any, decision: elig.Decision, now: datetime
) -> dict[str, Any]:
    """Store a refused drawing as a held order (SPEC §16): nothing drawn, the reseller's count up."""
    row = session.get(Distributor, request.distributor.id)
    hold_days = row.hold_days if row is not None else 7
    reasons = [r.code for r in decision.reasons]
    drawing = Drawing(
        distributor_id=request.distributor.id,
        reseller_id=request.reseller_id,
        reference=request.reference,
        amount_minor=request.amount_minor,
        outstanding_minor=0,
        vendor_id=request.vendor_id,
        status="held",
        created_at=now,
        created_by=request.actor,
        held_at=now,
        hold_expires_at=now + timedelta(days=hold_days),
        hold_reasons=",".join(reasons),
        hold_shortfall_minor=decision.shortfall or None,
    )
    session.add(drawing)
    reseller.held_count += 1
    session.flush()
    document = drawing_document("held", drawing, [])
    document.update(available=decision.available, hold_days=hold_days)
    return document


def get_drawing(session: Session, *, distributor_id: str, reseller_id: str, reference: str) -> DrawingView:
    distributor = require_distributor(session, distributor_id)
    require_reseller(session, distributor_id, reseller_id, lock=False)
    drawing = repo.get_drawing(session, distributor_id, reseller_id, reference)
    if drawing is None:
        raise NotFound(f"drawing {reference!r} does not exist for reseller {reseller_id!r}")
    return drawing_view(session, drawing, distributor.currency)


def list_drawings(
    session: Session, *, distributor_id: str, reseller_id: str, after: str | None, limit: int, status: str | None = None
) -> list[DrawingView]:
    distributor = require_distributor(session, distributor_id)
    require_reseller(session, distributor_id, reseller_id, lock=False)
    drawings = repo.list_drawings(
        session, distributor_id, reseller_id, after_reference=after, limit=limit, status=status
    )
    allocations = repo.allocations_of(session, distributor_id, reseller_id, [d.reference for d in drawings])
    by_ref: dict[str, list[Allocation]] = {}
    for alloc in allocations:
        by_ref.setdefault(alloc.drawing_reference, []).append(alloc)
    return [drawing_view(session, d, distributor.currency, by_ref.get(d.reference, [])) for d in drawings]

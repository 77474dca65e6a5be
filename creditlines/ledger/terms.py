"""Payment terms, due dates and the overdue stop (SPEC §18).

* Terms: the distributor's ``payment_terms_days`` (0–365, default 30) and a reseller's override
  (``reseller.payment_terms_days``, null: the distributor's). A drawing's ``invoice_date`` is
  given by the ERP or the local date of posting; its ``due_on`` is given (≥ ``invoice_date``)
  or ``invoice_date`` + the reseller's terms.
* Overdue on local date D: a drawing with outstanding above 0 and D > ``due_on``, by D − ``due_on``
  days.
* The overdue stop: the distributor's ``{after_days, min_amount}`` or none. While a reseller's
  outstanding more than ``after_days`` overdue totals at least ``min_amount`` (and is above 0),
  its drawings are refused (``overdue_stop``). "More than ``after_days`` overdue on D" is
  ``due_on < D − after_days``: one range sum over the partial index ``ix_drawing_open_due``
  (open drawings of one reseller by ``due_on``), exact at any instant, job or no job; the ledger
  is never read. The PL/pgSQL ``creditlines_draw`` (``creditlines_draw_0011.pg.sql``) and the
  eligibility hot path (``creditlines.db.hot``) compute the same sum in SQL.
* ``reseller.overdue_stop_since`` records that a stop was *announced* (event
  ``reseller.overdue_stop``, at the refusal that finds it or by the nightly job); the payment
  that ends it clears it (event ``reseller.overdue_cleared``). It never decides anything.

The policy lives on the distributor row, read in the transaction that uses it (never from the
per-process ``DistributorInfo`` cache: it changes). Loosening the stop is for four eyes (SPEC §23):
:func:`is_loosening_overdue_stop` says which changes are, and an officer's loosening waits in a
policy request (:mod:`creditlines.decisions.policy_requests`) until another officer approves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.db.engine import locked
from creditlines.errors import NotFound, ValidationFailed
from creditlines.events import outbox
from creditlines.events.types import EventType
from creditlines.ledger.models import Drawing, Reseller
from creditlines.tenants.models import Distributor

DEFAULT_TERMS_DAYS = 30
MAX_TERMS_DAYS = 365
UNSET: Any = object()


@dataclass(frozen=True)
class OverdueStop:
    """Refuse drawings while the outstanding more than ``after_days`` overdue is ≥ ``min_minor``."""

    after_days: int
    min_minor: int


@dataclass(frozen=True)
class TermsPolicy:
    distributor_id: str
    payment_terms_days: int
    overdue_stop: OverdueStop | None


def is_loosening_overdue_stop(old: OverdueStop | None, new: OverdueStop | None) -> bool:
    """True when going from ``old`` to ``new`` loosens the stop, so that SPEC §23's policy requests
    must hold it for a second officer: the stop removed, or fewer resellers caught by it (a later
    ``after_days`` or a higher ``min_minor``). Setting a stop where there was none, or making it
    stricter, is tightening (False) and applies at once; so does an unchanged stop."""
    if old is None:
        return False
    if new is None:
        return True
    return new.after_days > old.after_days or new.min_minor > old.min_minor


def _policy(row: Distributor) -> TermsPolicy:
    stop = None
    if row.overdue_stop_after_days is not None and row.overdue_stop_min_minor is not None:
        stop = OverdueStop(row.overdue_stop_after_days, row.overdue_stop_min_minor)
    return TermsPolicy(row.id, row.payment_terms_days, stop)


def _distributor_row(session: Session, distributor_id: str, *, lock: bool) -> Distributor:
    stmt = select(Distributor).where(Distributor.id == distributor_id)
    row: Distributor | None = session.scalars(locked(session, stmt) if lock else stmt).one_or_none()
    if row is None:
        raise NotFound(f"distributor {distributor_id!r} does not exist")
    return row


def policy_of(session: Session, distributor_id: str) -> TermsPolicy:
    """The distributor's terms and overdue stop, as its row says now."""
    return _policy(_distributor_row(session, distributor_id, lock=False))


def locked_policy_of(session: Session, distributor_id: str) -> TermsPolicy:
    """The same, read under the distributor row's lock (to compare, then change). Four eyes locks
    the credit-policy row first, then this one (:mod:`creditlines.decisions.policy_requests`)."""
    return _policy(_distributor_row(session, distributor_id, lock=True))


def check_terms_days(days: int, what: str = "payment_terms_days") -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_TERMS_DAYS:
        raise ValidationFailed(f"{what} must be a whole number of days from 0 to {MAX_TERMS_DAYS}")
    return days


def check_stop(stop: Any) -> OverdueStop | None:
    """``stop`` checked (``None``: no stop), before anything is written."""
    if stop is None:
        return None
    if not isinstance(stop, OverdueStop):
        raise ValidationFailed("overdue_stop must be {after_days, min_amount} or null")
    check_terms_days(stop.after_days, "overdue_stop.after_days")
    if isinstance(stop.min_minor, bool) or not isinstance(stop.min_minor, int) or stop.min_minor < 0:
        raise ValidationFailed("overdue_stop.min_amount cannot be negative")
    return stop


def update_policy(
    session: Session, *, distributor_id: str, payment_terms_days: Any = UNSET, overdue_stop: Any = UNSET
) -> TermsPolicy:
    """Set what is given (``overdue_stop=None`` removes the stop), at once. An officer's change of
    the stop goes through :func:`creditlines.decisions.policy_requests.change_policy`, which holds
    a loosening (:func:`is_loosening_overdue_stop`) for a second officer before calling this."""
    row = _distributor_row(session, distributor_id, lock=True)
    if payment_terms_days is not UNSET:
        row.payment_terms_days = check_terms_days(payment_terms_days)
    if overdue_stop is not UNSET:
        stop = check_stop(overdue_stop)
        row.overdue_stop_after_days = None if stop is None else stop.after_days
        row.overdue_stop_min_minor = None if stop is None else stop.min_minor
    session.flush()
    return _policy(row)


def terms_days_of(reseller: Reseller, policy: TermsPolicy) -> int:
    """The reseller's payment terms: its own override, else the distributor's."""
    return policy.payment_terms_days if reseller.payment_terms_days is None else reseller.payment_terms_days


def check_dates(invoice_date: date | None, due_on: date | None, today: date) -> None:
    """Refuse a due date before the invoice date (``invoice_date`` defaults to ``today``)."""
    if due_on is not None and due_on < (invoice_date or today):
        raise ValidationFailed("due_on must be on or after invoice_date (default: the local date of posting)")


def drawing_dates(invoice_date: date | None, due_on: date | None, day: date, terms_days: int) -> tuple[date, date]:
    """(invoice_date, due_on) of a drawing posted on local date ``day``. A given ``due_on`` earlier
    than ``day`` without an ``invoice_date`` can only be a request checked just before midnight:
    the invoice date is then the due date (the same rule as ``creditlines_draw``)."""
    invoice = invoice_date if invoice_date is not None else (day if due_on is None else min(day, due_on))
    return invoice, (due_on if due_on is not None else invoice + timedelta(days=terms_days))


# ------------------------------------------------------------------------------- overdue


def overdue_before(session: Session, distributor_id: str, reseller_id: str, cutoff: date) -> int:
    """Outstanding of the reseller's drawings due before ``cutoff``: one range sum over
    ``ix_drawing_open_due``."""
    total = session.scalar(
        select(func.coalesce(func.sum(Drawing.outstanding_minor), 0)).where(
            Drawing.distributor_id == distributor_id,
            Drawing.reseller_id == reseller_id,
            Drawing.outstanding_minor > 0,
            Drawing.due_on < cutoff,
        )
    )
    return int(total or 0)


def stop_amount(
    session: Session, distributor_id: str, reseller_id: str, day: date, stop: OverdueStop | None
) -> int | None:
    """The outstanding more than ``after_days`` overdue on ``day`` when the stop holds, else None."""
    if stop is None:
        return None
    beyond = overdue_before(session, distributor_id, reseller_id, day - timedelta(days=stop.after_days))
    return beyond if stop_holds(beyond, stop) else None


def stop_holds(beyond_minor: int, stop: OverdueStop | None) -> bool:
    """The rule itself, on the sum: something overdue beyond ``after_days``, at least ``min``."""
    return stop is not None and beyond_minor > 0 and beyond_minor >= stop.min_minor


@dataclass(frozen=True)
class Overdue:
    amount_minor: int
    oldest_days: int | None


def overdue_now(session: Session, distributor_id: str, reseller_id: str, day: date) -> Overdue:
    """What is overdue on local date ``day`` (the live drawings: now, or projected to ``day``)."""
    amount, oldest = session.execute(
        select(func.coalesce(func.sum(Drawing.outstanding_minor), 0), func.min(Drawing.due_on)).where(
            Drawing.distributor_id == distributor_id,
            Drawing.reseller_id == reseller_id,
            Drawing.outstanding_minor > 0,
            Drawing.due_on < day,
        )
    ).one()
    return Overdue(int(amount or 0), None if oldest is None else (day - _as_date(oldest)).days)


def overdue_by_reseller(
    session: Session, distributor_id: str, reseller_ids: list[str], day: date
) -> dict[str, Overdue]:
    """:func:`overdue_now` for a page of resellers, in one statement."""
    if not reseller_ids:
        return {}
    rows = session.execute(
        select(Drawing.reseller_id, func.sum(Drawing.outstanding_minor), func.min(Drawing.due_on))
        .where(
            Drawing.distributor_id == distributor_id,
            Drawing.reseller_id.in_(reseller_ids),
            Drawing.outstanding_minor > 0,
            Drawing.due_on < day,
        )
        .group_by(Drawing.reseller_id)
    ).all()
    return {r: Overdue(int(amount), (day - _as_date(oldest)).days) for r, amount, oldest in rows}


def overdue_from_drawings(drawings: list[tuple[int, date]], day: date) -> Overdue:
    """From (outstanding, due_on) pairs, e.g. as the ledger stood at a past instant."""
    due = [(amount, due_on) for amount, due_on in drawings if amount > 0 and due_on < day]
    if not due:
        return Overdue(0, None)
    return Overdue(sum(a for a, _ in due), (day - min(d for _, d in due)).days)


def due_dates(session: Session, distributor_id: str, reseller_id: str, references: list[str]) -> dict[str, date]:
    """The due dates of some of a reseller's drawings (they never change once posted)."""
    due: dict[str, date] = {}
    for i in range(0, len(references), 500):
        rows = session.execute(
            select(Drawing.reference, Drawing.due_on).where(
                Drawing.distributor_id == distributor_id,
                Drawing.reseller_id == reseller_id,
                Drawing.reference.in_(references[i : i + 500]),
            )
        ).all()
        due.update({ref: _as_date(d) for ref, d in rows})
    return due


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# ------------------------------------------------------------------------------- events


def stop_found(
    session: Session,
    reseller: Reseller,
    *,
    overdue_minor: int,
    stop: OverdueStop,
    at: datetime,
    cause: str,
    reference: str | None = None,
) -> bool:
    """Announce a stop once per episode (the reseller locked by the caller): True when announced now."""
    if reseller.overdue_stop_since is not None:
        return False
    reseller.overdue_stop_since = at
    data: dict[str, Any] = {
        "overdue_minor": overdue_minor,
        "after_days": stop.after_days,
        "min_amount_minor": stop.min_minor,
        "cause": cause,
    }
    if reference is not None:
        data["reference"] = reference
    outbox.record(
        session,
        EventType.RESELLER_OVERDUE_STOP,
        distributor_id=reseller.distributor_id,
        reseller_id=reseller.id,
        at=at,
        data=data,
    )
    session.flush()
    return True


def maybe_cleared(session: Session, reseller: Reseller, *, day: date, at: datetime, cause: str) -> bool:
    """After money came in (or the policy or the job looked again): if a stop was announced and no
    longer holds, clear it and say so. True when cleared now."""
    if reseller.overdue_stop_since is None:
        return False
    policy = policy_of(session, reseller.distributor_id)
    if stop_amount(session, reseller.distributor_id, reseller.id, day, policy.overdue_stop) is not None:
        return False
    since = reseller.overdue_stop_since
    reseller.overdue_stop_since = None
    outbox.record(
        session,
        EventType.RESELLER_OVERDUE_CLEARED,
        distributor_id=reseller.distributor_id,
        reseller_id=reseller.id,
        at=at,
        data={"since": since.isoformat(), "cause": cause},
    )
    session.flush()
    return True


def today(timezone: str) -> date:
    return clock.local_today(timezone)

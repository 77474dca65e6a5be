"""A distributor's rules for base limits (SPEC §12): the four-eyes threshold and the cap policy.

* ``approval_threshold``: a raise of a base limit by more than it waits for a second officer
  key (none: every change applies at once, as before).
* ``base_cap_policy``: ``none`` (default) or ``cover_plus_discretionary``: the base limit is at
  most the insurer's cover in force today (0 when none was ever recorded) plus ``discretionary``.
* ``indemnity_rate``: the share of an insured loss the insurer pays (SPEC §20), in basis points.

Which change of a field loosens control (and so waits for a second officer, SPEC §23) is
declared here with the field (:data:`FIELDS`).

Cover in time (SPEC §19): a decision is in force from its ``effective_on`` (default its
``decided_on``). The cover in force on a date is the last decision *recorded* among those in force
by that date: a later decision supersedes a scheduled one whose date it reaches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from moneyed import Money
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.db.engine import is_postgresql, locked
from creditlines.decisions.models import CAP_POLICIES, CreditPolicy, InsuranceCover
from creditlines.errors import CurrencyMismatch, InvalidAmount, ValidationFailed
from creditlines.money import to_minor
from creditlines.tenants import lookup

UNSET: object = object()
DEFAULT_INDEMNITY_BP = 9000


@dataclass(frozen=True)
class PolicyView:
    distributor_id: str
    currency: str
    approval_threshold_minor: int | None
    base_cap_policy: str
    discretionary_minor: int
    updated_at: datetime | None
    updated_by: str | None
    indemnity_rate_bp: int = DEFAULT_INDEMNITY_BP

    @property
    def indemnity_rate(self) -> str:
        """The rate as a percent string ("90", "87.5")."""
        return percent_str(self.indemnity_rate_bp)


def percent_str(bp: int) -> str:
    value = (Decimal(bp) / 100).normalize()
    return f"{value:f}"


def percent_bp(value: object) -> int:
    """A percent 0–100 with at most two decimals ("90", "87.5", 90) as basis points."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValidationFailed("indemnity_rate must be a percent between 0 and 100, as a string or an integer")
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValidationFailed("indemnity_rate must be a percent between 0 and 100") from None
    if not number.is_finite() or number < 0 or number > 100 or (number * 100) != (number * 100).to_integral_value():
        raise ValidationFailed("indemnity_rate must be a percent between 0 and 100 with at most two decimals")
    return int(number * 100)


def _view(distributor_id: str, currency: str, row: CreditPolicy | None) -> PolicyView:
    if row is None:
        return PolicyView(distributor_id, currency, None, "none", 0, None, None)
    return PolicyView(
        distributor_id,
        currency,
        row.approval_threshold_minor,
        row.base_cap_policy,
        row.discretionary_minor,
        row.updated_at,
        row.updated_by,
        row.indemnity_rate_bp,
    )


def get(session: Session, distributor_id: str) -> PolicyView:
    distributor = lookup.require_distributor(session, distributor_id)
    return _view(distributor_id, distributor.currency, session.get(CreditPolicy, distributor_id))


def _minor(value: Money, currency: str, what: str) -> int:
    if value.currency.code != currency:
        raise CurrencyMismatch(f"{what} must be in {currency}", expected=currency)
    minor = to_minor(value)
    if minor < 0:
        raise InvalidAmount(f"{what} cannot be negative")
    return minor


@dataclass(frozen=True)
class Field:
    """A field of the credit policy as four eyes sees it (SPEC §23): its column, and whether a
    change from ``before`` to ``after`` loosens control. A field of this row added later declares
    itself with :func:`declare`; nothing else changes. (The overdue stop, §18, lives on the
    distributor's row: :func:`creditlines.decisions.policy_requests.change_policy` takes it.)"""

    name: str
    column: str
    loosens: Callable[[Any, Any], bool]


def _raised_or_removed(before: int | None, after: int | None) -> bool:
    return before is not None and (after is None or after > before)


FIELDS: dict[str, Field] = {}


def declare(name: str, column: str, loosens: Callable[[Any, Any], bool]) -> None:
    FIELDS[name] = Field(name, column, loosens)


# A threshold raised or removed lets more through without a second officer (setting one where
# there was none tightens); a cap policy back to ``none`` lifts the insured cap; a higher
# discretionary raises the cap (always: it takes effect the day the cap policy is switched on).
declare("approval_threshold", "approval_threshold_minor", _raised_or_removed)
declare("base_cap_policy", "base_cap_policy", lambda before, after: after == "none" and before != "none")
declare("discretionary", "discretionary_minor", lambda before, after: after > before)
# The insurer's share of an insured loss (SPEC §20) is no control over the desk's credit: it only
# says what a claim on the insurer is worth. It applies at once, either way.
declare("indemnity_rate", "indemnity_rate_bp", lambda before, after: False)


def normalise(
    session: Session,
    distributor_id: str,
    *,
    approval_threshold: object = UNSET,
    base_cap_policy: object = UNSET,
    discretionary: object = UNSET,
    indemnity_rate: object = UNSET,
) -> dict[str, object]:
    """What is given, checked, as column values (``approval_threshold=None`` removes the threshold)."""
    cur = lookup.require_distributor(session, distributor_id).currency
    changes: dict[str, object] = {}
    if approval_threshold is not UNSET:
        if approval_threshold is not None and not isinstance(approval_threshold, Money):
            raise ValidationFailed("approval_threshold must be an amount or null")
        changes["approval_threshold_minor"] = (
            None if approval_threshold is None else _minor(approval_threshold, cur, "approval_threshold")
        )
    if base_cap_policy is not UNSET:
        if base_cap_policy not in CAP_POLICIES:
            raise ValidationFailed(f"base_cap_policy must be one of {', '.join(CAP_POLICIES)}")
        changes["base_cap_policy"] = str(base_cap_policy)
    if discretionary is not UNSET:
        if not isinstance(discretionary, Money):
            raise ValidationFailed("discretionary must be an amount")
        changes["discretionary_minor"] = _minor(discretionary, cur, "discretionary")
    if indemnity_rate is not UNSET:
        changes["indemnity_rate_bp"] = percent_bp(indemnity_rate)
    return changes


def locked_row(session: Session, distributor_id: str, actor: str) -> CreditPolicy:
    """The distributor's policy row under its lock, created first if absent (two first changes
    at once both land: insert-if-absent, then the row locked)."""
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    session.execute(
        insert(CreditPolicy)
        .values(
            distributor_id=distributor_id,
            approval_threshold_minor=None,
            base_cap_policy="none",
            discretionary_minor=0,
            indemnity_rate_bp=DEFAULT_INDEMNITY_BP,
            updated_at=clock.now(),
            updated_by=actor,
        )
        .on_conflict_do_nothing(index_elements=["distributor_id"])
    )
    row: CreditPolicy = session.scalars(
        locked(session, select(CreditPolicy).where(CreditPolicy.distributor_id == distributor_id)).execution_options(
            populate_existing=True
        )
    ).one()
    return row


def apply(session: Session, row: CreditPolicy, changes: dict[str, object], actor: str) -> None:
    for column, value in changes.items():
        setattr(row, column, value)
    row.updated_at, row.updated_by = clock.now(), actor
    session.flush()


def loosening(row: CreditPolicy, changes: dict[str, object]) -> dict[str, object]:
    """The part of ``changes`` that loosens control compared with ``row``."""
    by_column = {f.column: f for f in FIELDS.values()}
    return {c: v for c, v in changes.items() if by_column[c].loosens(getattr(row, c), v)}


def view(session: Session, distributor_id: str, row: CreditPolicy | None) -> PolicyView:
    return _view(distributor_id, lookup.require_distributor(session, distributor_id).currency, row)


def update(
    session: Session,
    *,
    distributor_id: str,
    actor: str,
    approval_threshold: object = UNSET,
    base_cap_policy: object = UNSET,
    discretionary: object = UNSET,
    indemnity_rate: object = UNSET,
) -> PolicyView:
    """Change what is given at once, loosening or not: the platform operator's path (admin keys,
    the demo); an officer's change goes through :mod:`creditlines.decisions.policy_requests`.
    Changing the cap policy cuts no limit by itself: the next cover decision on each reseller
    does. Everything is checked before anything is written."""
    changes = normalise(
        session,
        distributor_id,
        approval_threshold=approval_threshold,
        base_cap_policy=base_cap_policy,
        discretionary=discretionary,
        indemnity_rate=indemnity_rate,
    )
    row = locked_row(session, distributor_id, actor)
    apply(session, row, changes, actor)
    return view(session, distributor_id, row)


def current_cover(session: Session, distributor_id: str, reseller_id: str) -> InsuranceCover | None:
    """The last cover decision recorded for the reseller, in force or scheduled (read under the
    reseller's lock): what a new decision is compared with."""
    return session.scalars(
        select(InsuranceCover)
        .where(InsuranceCover.distributor_id == distributor_id, InsuranceCover.reseller_id == reseller_id)
        .order_by(InsuranceCover.seq.desc())
        .limit(1)
    ).one_or_none()


def effective_day(cover: InsuranceCover) -> date:
    """The local date a decision takes effect (rows recorded before SPEC §19: its ``decided_on``)."""
    return cover.effective_on or cover.decided_on


def cover_in_force(session: Session, distributor_id: str, reseller_id: str, day: date) -> InsuranceCover | None:
    """The cover decision in force on the local date ``day`` (SPEC §19): the last recorded among
    those effective on or before it; None when none was."""
    return session.scalars(
        select(InsuranceCover)
        .where(
            InsuranceCover.distributor_id == distributor_id,
            InsuranceCover.reseller_id == reseller_id,
            func.coalesce(InsuranceCover.effective_on, InsuranceCover.decided_on) <= day,
        )
        .order_by(InsuranceCover.seq.desc())
        .limit(1)
    ).one_or_none()


def in_force_in(history: list[InsuranceCover], day: date) -> InsuranceCover | None:
    """:func:`cover_in_force` over a history already read (oldest first)."""
    found = None
    for cover in history:
        if effective_day(cover) <= day:
            found = cover
    return found


def insured_cap(
    session: Session,
    distributor_id: str,
    reseller_id: str,
    *,
    cover_minor: int | None = None,
    day: date | None = None,
) -> int | None:
    """The highest base limit the policy allows for the reseller on ``day`` (default: the
    distributor's local today), under the cover in force that day — a scheduled cut counts from its
    date, at read time, job or no job (with ``cover_minor``: for that cover); None when uncapped."""
    row = session.get(CreditPolicy, distributor_id, populate_existing=True)
    if row is None or row.base_cap_policy != "cover_plus_discretionary":
        return None
    if cover_minor is None:
        if day is None:
            day = clock.local_today(lookup.require_distributor(session, distributor_id).timezone)
        cover = cover_in_force(session, distributor_id, reseller_id, day)
        cover_minor = cover.cover_minor if cover is not None else 0
    return cover_minor + row.discretionary_minor


def indemnity_rate_bp(session: Session, distributor_id: str) -> int:
    row = session.get(CreditPolicy, distributor_id, populate_existing=True)
    return DEFAULT_INDEMNITY_BP if row is None else row.indemnity_rate_bp


def approval_threshold(session: Session, distributor_id: str) -> int | None:
    row = session.get(CreditPolicy, distributor_id, populate_existing=True)
    return None if row is None else row.approval_threshold_minor

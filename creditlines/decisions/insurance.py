"""Insurer cover (SPEC §12): the history of cover decisions per reseller, and the cut they bring.

Each decision appends an :class:`InsuranceCover` row (append-only) and an ``insurance_set``
ledger entry in the same transaction. Under the distributor's ``cover_plus_discretionary`` policy
a decision that leaves the base limit above cover + discretionary lowers it to that cap: an
ordinary ``limit_set`` entry with reason ``insurer_cut``, which may leave the reseller over limit
(what is drawn stays drawn). A raise of cover never raises a limit by itself: that is the credit
desk's decision (``PUT …/base-limit``). The same decision recorded twice changes nothing.

Cover in time (SPEC §19): a decision may take effect later (``effective_on``). A cut effective
after today is *scheduled*: nothing changes yet but the history and the event
``insurance.cut_scheduled`` (before, after, ``effective_on``), so the desk and the vendors can act
before it; from that local date the cap follows it at read time (:func:`policy.insured_cap`), and
the nightly job (``creditlines.jobs.cover_cuts``) lowers the base limit (``insurer_cut``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from moneyed import Money
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from creditlines import clock, ledger, validation
from creditlines.db.engine import locked
from creditlines.decisions import journal, policy
from creditlines.decisions.limit_requests import _base, _limit_minor, _locked_reseller, set_base_limit
from creditlines.decisions.models import InsuranceCover
from creditlines.errors import ValidationFailed
from creditlines.events import outbox
from creditlines.events.types import EventType
from creditlines.money import from_minor
from creditlines.tenants import lookup

INSURER_CUT = "insurer_cut"
INSURER_MAX = 200
MAX_NOTICE = timedelta(days=731)  # how far ahead a decision may take effect


@dataclass(frozen=True)
class CoverDecision:
    cover: InsuranceCover
    changed: bool  # False: the same decision was already the current one
    limit_before_minor: int
    limit_after_minor: int
    scheduled: bool = False  # takes effect after today: nothing changed yet

    @property
    def limit_cut(self) -> bool:
        return self.limit_after_minor < self.limit_before_minor


def checked(
    session: Session, distributor_id: str, insurer: str, cover: Money, decided_on: date, reference: str | None
) -> tuple[str, int, str | None]:
    """A cover decision's fields checked: (insurer, cover in minor units, reference)."""
    distributor = lookup.require_distributor(session, distributor_id)
    cover_minor = _limit_minor(cover, distributor.currency, what="cover")
    insurer = validation.text(insurer, "insurer", max_length=INSURER_MAX)
    if reference is not None:
        reference = validation.text(reference, "reference", max_length=100)
    if not isinstance(decided_on, date) or decided_on > clock.local_today(distributor.timezone):
        raise ValidationFailed("decided_on must be a date no later than the distributor's local today")
    return insurer, cover_minor, reference


def set_cover(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    insurer: str,
    cover: Money,
    decided_on: date,
    reference: str | None,
    actor: str,
    effective_on: date | None = None,
) -> CoverDecision:
    """Record the insurer's decision on the reseller (``cover`` 0: cancelled) and apply the cap
    (at once when it is in force today; a decision effective later is scheduled). This records at
    once: an officer's raise goes through :func:`creditlines.decisions.policy_requests.record_cover`
    (four eyes, SPEC §23)."""
    distributor = lookup.require_distributor(session, distributor_id)
    insurer, cover_minor, reference = checked(session, distributor_id, insurer, cover, decided_on, reference)
    effective = decided_on if effective_on is None else effective_on
    if not isinstance(effective, date) or effective < decided_on or effective > decided_on + MAX_NOTICE:
        raise ValidationFailed("effective_on must be on or after decided_on, and at most two years after it")
    today = clock.local_today(distributor.timezone)
    reseller = _locked_reseller(session, distributor_id, reseller_id)
    base = _base(session, distributor_id, reseller_id)
    before = base.limit_minor
    current = policy.current_cover(session, distributor_id, reseller_id)
    if current is not None and (
        current.insurer,
        current.cover_minor,
        current.decided_on,
        policy.effective_day(current),
        current.reference,
    ) == (insurer, cover_minor, decided_on, effective, reference):
        return CoverDecision(current, False, before, before, policy.effective_day(current) > today)
    in_force_then = policy.cover_in_force(session, distributor_id, reseller_id, effective)
    now = clock.now()
    previous = current.cover_minor if current is not None else None
    entry = journal.record(
        session,
        reseller,
        kind="insurance_set",
        actor=actor,
        at=now,
        reason=f"{insurer}: cover {'cancelled' if cover_minor == 0 else 'decided'}",
        amount_minor=cover_minor,
        details={
            "insurer": insurer,
            "decided_on": decided_on.isoformat(),
            "effective_on": effective.isoformat(),
            "reference": reference,
            "previous_cover_minor": previous,
        },
    )
    row = InsuranceCover(
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        seq=entry.seq,
        insurer=insurer,
        cover_minor=cover_minor,
        previous_cover_minor=previous,
        decided_on=decided_on,
        effective_on=effective,
        reference=reference,
        recorded_at=now,
        actor=actor,
    )
    session.add(row)
    if effective > today:
        before_cover = in_force_then.cover_minor if in_force_then is not None else None
        if before_cover is not None and cover_minor < before_cover:
            outbox.record(
                session,
                EventType.INSURANCE_CUT_SCHEDULED,
                distributor_id=distributor_id,
                reseller_id=reseller_id,
                at=now,
                data={
                    "insurer": insurer,
                    "before_minor": before_cover,
                    "after_minor": cover_minor,
                    "decided_on": decided_on.isoformat(),
                    "effective_on": effective.isoformat(),
                    "reference": reference,
                },
            )
        session.flush()
        return CoverDecision(row, True, before, before, scheduled=True)
    session.flush()
    after = before
    cap = policy.insured_cap(session, distributor_id, reseller_id, day=today)
    if cap is not None and before > cap and reseller.status != "terminated":
        set_base_limit(
            session, reseller, limit_minor=cap, currency=distributor.currency, reason=INSURER_CUT, actor=actor
        )
        after = cap
    session.flush()
    return CoverDecision(row, True, before, after)


def history(session: Session, *, distributor_id: str, reseller_id: str) -> list[InsuranceCover]:
    """Every cover decision recorded for the reseller, oldest first."""
    ledger.get_reseller(session, distributor_id=distributor_id, reseller_id=reseller_id)
    return list(
        session.scalars(
            select(InsuranceCover)
            .where(InsuranceCover.distributor_id == distributor_id, InsuranceCover.reseller_id == reseller_id)
            .order_by(InsuranceCover.seq)
        )
    )


def import_covers(
    session: Session, *, distributor_id: str, rows: list[tuple[str, str, Money]], decided_on: date, actor: str
) -> int:
    """Record the first cover of many resellers at once (a distributor's book, at onboarding):
    for each, what :func:`set_cover` would record — the history row and its ``insurance_set``
    entry — and, if the policy caps the base limit below it, the same ``insurer_cut``. Resellers
    that already have a cover, or do not exist, are left alone. Returns how many were recorded."""
    from creditlines.ledger import repository as ledger_repo
    from creditlines.ledger.models import Reseller

    distributor = lookup.require_distributor(session, distributor_id)
    if decided_on > clock.local_today(distributor.timezone):
        raise ValidationFailed("decided_on must be a date no later than the distributor's local today")
    wanted = {
        reseller_id: (
            validation.text(insurer, "insurer", max_length=INSURER_MAX),
            _limit_minor(cover, distributor.currency, what="cover"),
        )
        for reseller_id, insurer, cover in rows
    }
    if len(wanted) != len(rows):
        raise ValidationFailed("a reseller appears twice in the import")
    resellers = session.scalars(
        locked(
            session,
            select(Reseller)
            .where(Reseller.distributor_id == distributor_id, Reseller.id.in_(wanted))
            .order_by(Reseller.id),
        )
    ).all()
    covered = set(
        session.scalars(
            select(InsuranceCover.reseller_id).where(
                InsuranceCover.distributor_id == distributor_id, InsuranceCover.reseller_id.in_(wanted)
            )
        )
    )
    now = clock.now()
    recorded: list[tuple[str, int]] = []
    for reseller in resellers:
        if reseller.id in covered:
            continue
        insurer, cover_minor = wanted[reseller.id]
        entry = journal.record(
            session,
            reseller,
            kind="insurance_set",
            actor=actor,
            at=now,
            reason=f"{insurer}: cover {'cancelled' if cover_minor == 0 else 'decided'}",
            amount_minor=cover_minor,
            details={
                "insurer": insurer,
                "decided_on": decided_on.isoformat(),
                "reference": None,
                "previous_cover_minor": None,
            },
        )
        session.add(
            InsuranceCover(
                distributor_id=distributor_id,
                reseller_id=reseller.id,
                seq=entry.seq,
                insurer=insurer,
                cover_minor=cover_minor,
                previous_cover_minor=None,
                decided_on=decided_on,
                effective_on=decided_on,
                reference=None,
                recorded_at=now,
                actor=actor,
            )
        )
        recorded.append((reseller.id, cover_minor))
    session.flush()
    limits = {
        line.reseller_id: line.limit_minor
        for line in ledger_repo.lines_of_many(session, distributor_id, [r for r, _ in recorded])
        if line.kind == "base"
    }
    by_id = {r.id: r for r in resellers}
    for reseller_id, cover_minor in recorded:
        cap = policy.insured_cap(session, distributor_id, reseller_id, cover_minor=cover_minor)
        if cap is not None and limits[reseller_id] > cap and by_id[reseller_id].status != "terminated":
            set_base_limit(
                session,
                by_id[reseller_id],
                limit_minor=cap,
                currency=distributor.currency,
                reason=INSURER_CUT,
                actor=actor,
            )
    return len(recorded)


CATCH_UP = timedelta(days=31)  # scheduled cuts a missed night still applies


def apply_due_cuts(session: Session, *, distributor_id: str, day: date, actor: str) -> list[str]:
    """The nightly job's step (SPEC §19): every reseller with a scheduled decision that took
    effect on or before ``day`` (within :data:`CATCH_UP`), whose base limit is above the cap under
    the cover in force that day, has it lowered to the cap (``insurer_cut``), under its lock.
    Idempotent: a second run finds nothing above the cap. Returns the resellers cut."""
    distributor = lookup.require_distributor(session, distributor_id)
    effective = policy_effective_column()
    candidates = session.scalars(
        select(InsuranceCover.reseller_id)
        .where(
            InsuranceCover.distributor_id == distributor_id,
            InsuranceCover.effective_on.is_not(None),
            InsuranceCover.effective_on > InsuranceCover.decided_on,
            effective <= day,
            effective >= day - CATCH_UP,
        )
        .distinct()
        .order_by(InsuranceCover.reseller_id)
    ).all()
    cut = []
    for reseller_id in candidates:
        reseller = _locked_reseller(session, distributor_id, reseller_id)
        if reseller.status == "terminated":
            continue
        cap = policy.insured_cap(session, distributor_id, reseller_id, day=day)
        base = _base(session, distributor_id, reseller_id)
        if cap is not None and base.limit_minor > cap:
            ledger.set_base_limit(
                session,
                distributor_id=distributor_id,
                reseller_id=reseller_id,
                limit=from_minor(cap, distributor.currency),
                reason=INSURER_CUT,
                actor=actor,
            )
            cut.append(reseller_id)
    session.flush()
    return cut


def policy_effective_column() -> ColumnElement[date]:
    return func.coalesce(InsuranceCover.effective_on, InsuranceCover.decided_on)

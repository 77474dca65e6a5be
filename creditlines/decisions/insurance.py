"""Insurer cover (SPEC §12): the history of cover decisions per reseller, and the cut they bring.

Each decision appends an :class:`InsuranceCover` row (append-only) and an ``insurance_set``
ledger entry in the same transaction. Under the distributor's ``cover_plus_discretionary`` policy
a decision that leaves the base limit above cover + discretionary lowers it to that cap: an
ordinary ``limit_set`` entry with reason ``insurer_cut``, which may leave the reseller over limit
(what is drawn stays drawn). A raise of cover never raises a limit by itself: that is the credit
desk's decision (``PUT …/base-limit``). The same decision recorded twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from moneyed import Money
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock, ledger, validation
from creditlines.db.engine import locked
from creditlines.decisions import journal, policy
from creditlines.decisions.limit_requests import _base, _limit_minor, _locked_reseller, set_base_limit
from creditlines.decisions.models import InsuranceCover
from creditlines.errors import ValidationFailed
from creditlines.tenants import lookup

INSURER_CUT = "insurer_cut"
INSURER_MAX = 200


@dataclass(frozen=True)
class CoverDecision:
    cover: InsuranceCover
    changed: bool  # False: the same decision was already the current one
    limit_before_minor: int
    limit_after_minor: int

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
) -> CoverDecision:
    """Record the insurer's decision on the reseller (``cover`` 0: cancelled) and apply the cap.
    This records at once: an officer's raise goes through
    :func:`creditlines.decisions.policy_requests.record_cover` (four eyes, SPEC §23)."""
    distributor = lookup.require_distributor(session, distributor_id)
    insurer, cover_minor, reference = checked(session, distributor_id, insurer, cover, decided_on, reference)
    reseller = _locked_reseller(session, distributor_id, reseller_id)
    base = _base(session, distributor_id, reseller_id)
    before = base.limit_minor
    current = policy.current_cover(session, distributor_id, reseller_id)
    if current is not None and (current.insurer, current.cover_minor, current.decided_on, current.reference) == (
        insurer,
        cover_minor,
        decided_on,
        reference,
    ):
        return CoverDecision(current, False, before, before)
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
        reference=reference,
        recorded_at=now,
        actor=actor,
    )
    session.add(row)
    after = before
    cap = policy.insured_cap(session, distributor_id, reseller_id, cover_minor=cover_minor)
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

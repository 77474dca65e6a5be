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

from creditlines import clock, validation
from creditlines.decisions import journal, policy
from creditlines.decisions.limit_requests import _base, _limit_minor, _locked_reseller
from creditlines.decisions.models import InsuranceCover
from creditlines.errors import ValidationFailed
from creditlines.ledger import service as ledger
from creditlines.money import from_minor

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


def set_cover(session: Session, *, distributor_id: str, reseller_id: str, insurer: str, cover: Money,
              decided_on: date, reference: str | None, actor: str) -> CoverDecision:
    """Record the insurer's decision on the reseller (``cover`` 0: cancelled) and apply the cap."""
    distributor = ledger.require_distributor(session, distributor_id)
    cover_minor = _limit_minor(cover, distributor.currency, what="cover")
    insurer = validation.text(insurer, "insurer", max_length=INSURER_MAX)
    if reference is not None:
        reference = validation.text(reference, "reference", max_length=100)
    if not isinstance(decided_on, date) or decided_on > clock.local_today(distributor.timezone):
        raise ValidationFailed("decided_on must be a date no later than the distributor's local today")
    reseller = _locked_reseller(session, distributor_id, reseller_id)
    base = _base(session, distributor_id, reseller_id)
    before = base.limit_minor
    current = policy.current_cover(session, distributor_id, reseller_id)
    if current is not None and (current.insurer, current.cover_minor, current.decided_on, current.reference) == (
            insurer, cover_minor, decided_on, reference):
        return CoverDecision(current, False, before, before)
    now = clock.now()
    previous = current.cover_minor if current is not None else None
    entry = journal.record(session, reseller, kind="insurance_set", actor=actor, at=now,
                           reason=f"{insurer}: cover {'cancelled' if cover_minor == 0 else 'decided'}",
                           amount_minor=cover_minor,
                           details={"insurer": insurer, "decided_on": decided_on.isoformat(), "reference": reference,
                                    "previous_cover_minor": previous})
    row = InsuranceCover(distributor_id=distributor_id, reseller_id=reseller_id, seq=entry.seq, insurer=insurer,
                         cover_minor=cover_minor, previous_cover_minor=previous, decided_on=decided_on,
                         reference=reference, recorded_at=now, actor=actor)
    session.add(row)
    session.flush()
    after = before
    cap = policy.insured_cap(session, distributor_id, reseller_id)
    if cap is not None and before > cap and reseller.status != "terminated":
        ledger.set_base_limit(session, distributor_id=distributor_id, reseller_id=reseller_id,
                              limit=from_minor(cap, distributor.currency), reason=INSURER_CUT, actor=actor)
        after = cap
    return CoverDecision(row, True, before, after)


def history(session: Session, *, distributor_id: str, reseller_id: str) -> list[InsuranceCover]:
    """Every cover decision recorded for the reseller, oldest first."""
    ledger.get_reseller(session, distributor_id=distributor_id, reseller_id=reseller_id)
    return list(session.scalars(
        select(InsuranceCover)
        .where(InsuranceCover.distributor_id == distributor_id, InsuranceCover.reseller_id == reseller_id)
        .order_by(InsuranceCover.seq)))

"""A reseller declared in default (SPEC §20): terminated if it is not already, and marked.

The mark is a ``reseller_default`` row and a ``reseller_defaulted`` ledger entry (no balance, no
status change of its own: the termination is the ordinary ``reseller_terminated`` entry), with the
event ``reseller.defaulted``, all in the transaction of the declaration, under the reseller's lock.
The same declaration again changes nothing (``changed`` false); another one for a reseller already
in default → ``409 already_in_default``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from creditlines import clock, ledger, validation
from creditlines.errors import AlreadyInDefault, ValidationFailed
from creditlines.events import outbox
from creditlines.events.types import EventType
from creditlines.ledger import journal
from creditlines.ledger.repository import require_reseller
from creditlines.losses.models import ResellerDefault
from creditlines.tenants import lookup


@dataclass(frozen=True)
class DefaultOutcome:
    default: ResellerDefault
    changed: bool  # False: the same declaration was already recorded


def declare(
    session: Session, *, distributor_id: str, reseller_id: str, reason: str, declared_on: date, actor: str
) -> DefaultOutcome:
    distributor = lookup.require_distributor(session, distributor_id)
    reason = validation.text(reason, "reason")
    if not isinstance(declared_on, date) or declared_on > clock.local_today(distributor.timezone):
        raise ValidationFailed("declared_on must be a date no later than the distributor's local today")
    validation.day(declared_on, "declared_on")
    reseller = require_reseller(session, distributor_id, reseller_id, lock=True)
    existing = session.get(ResellerDefault, (distributor_id, reseller_id), populate_existing=True)
    if existing is not None:
        if (existing.reason, existing.declared_on) == (reason, declared_on):
            return DefaultOutcome(existing, False)
        raise AlreadyInDefault(
            f"reseller {reseller_id!r} was declared in default on {existing.declared_on.isoformat()}",
            declared_on=existing.declared_on.isoformat(),
        )
    if reseller.status != "terminated":
        ledger.terminate(
            session, distributor_id=distributor_id, reseller_id=reseller_id, reason=f"default: {reason}", actor=actor
        )
    now = clock.now()
    entry = journal.append(
        session,
        reseller,
        kind=journal.EntryKind.RESELLER_DEFAULTED,
        actor=actor,
        at=now,
        reason=reason,
        details={"declared_on": declared_on.isoformat()},
    )
    row = ResellerDefault(
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        reason=reason,
        declared_on=declared_on,
        declared_at=now,
        declared_by=actor,
        seq=entry.seq,
    )
    session.add(row)
    outbox.record(
        session,
        EventType.RESELLER_DEFAULTED,
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        at=now,
        data={"reason": reason, "declared_on": declared_on.isoformat(), "actor": actor},
    )
    session.flush()
    return DefaultOutcome(row, True)


def get(session: Session, *, distributor_id: str, reseller_id: str) -> ResellerDefault | None:
    """The reseller's default, if it was declared (the reseller must exist)."""
    lookup.require_distributor(session, distributor_id)
    require_reseller(session, distributor_id, reseller_id, lock=False)
    return session.get(ResellerDefault, (distributor_id, reseller_id))

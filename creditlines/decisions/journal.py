"""The one place the decisions write to the reseller's ledger (through ``creditlines.ledger.journal``).

Kinds written here: ``limit_requested``, ``limit_request_approved``, ``limit_request_rejected``,
``limit_request_expired``, ``limit_request_superseded``, ``nomination_created``, ``nomination_approved``,
``nomination_rejected``, ``insurance_set``. None of them carries a balance change (no
``line_id``), so the fold and ``verify`` are unaffected; the limit changes themselves are the
ledger's ordinary ``limit_set`` entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from creditlines.events import outbox
from creditlines.events.types import EventType
from creditlines.ledger import journal
from creditlines.ledger.models import LedgerEntry, Reseller

# Each decision step is also an event (SPEC §13), written with its ledger entry.
EVENT_OF: dict[str, EventType] = {
    "limit_requested": EventType.LIMIT_REQUEST_CREATED,
    "limit_request_approved": EventType.LIMIT_REQUEST_APPROVED,
    "limit_request_rejected": EventType.LIMIT_REQUEST_REJECTED,
    "limit_request_expired": EventType.LIMIT_REQUEST_EXPIRED,
    "limit_request_superseded": EventType.LIMIT_REQUEST_SUPERSEDED,
    "nomination_created": EventType.NOMINATION_CREATED,
    "nomination_approved": EventType.NOMINATION_APPROVED,
    "nomination_rejected": EventType.NOMINATION_REJECTED,
    "insurance_set": EventType.INSURANCE_CHANGED,
}


def record(
    session: Session,
    reseller: Reseller,
    *,
    kind: str,
    actor: str,
    at: datetime,
    reason: str | None = None,
    amount_minor: int | None = None,
    details: dict[str, Any] | None = None,
    vendor_id: str | None = None,
) -> LedgerEntry:
    """Append one entry to the (locked) reseller's ledger, and its event.

    Nomination events name the vendor (they show in its feed): they carry ids, the amount and
    the refusal code, never the officer's reason text."""
    entry = journal.append(
        session, reseller, kind=kind, actor=actor, at=at, reason=reason, amount_minor=amount_minor, details=details
    )
    data: dict[str, Any] = dict(details or {})
    if amount_minor is not None:
        data["amount_minor"] = amount_minor
    if vendor_id is None:
        data["reason"] = reason
        data["actor"] = actor
    outbox.record(
        session,
        EVENT_OF[kind],
        distributor_id=reseller.distributor_id,
        data=data,
        at=at,
        reseller_id=reseller.id,
        vendor_id=vendor_id,
        programme_id=data.get("programme_id"),
    )
    return entry

"""Claims (SPEC §20): what the distributor claims from whoever bears a written-off loss.

Opened by a write-off, one per funder: the vendor of each programme line (its ``written_off``,
claimed in full), each financier, and each insurer whose cover insured a base part (the insured
part × the distributor's ``indemnity_rate``, rounded half up to the minor unit). Each claim is a
``claim_opened`` ledger entry of the reseller and a ``claim.opened`` event (a vendor's claim names
the vendor, so its feed and webhooks carry it); settlement (``paid`` for at most the amount, or
``rejected``) is a ``claim_settled`` entry and a ``claim.settled`` event, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moneyed import Money
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.decisions.limit_requests import new_id
from creditlines.errors import AlreadySettled, CurrencyMismatch, InvalidAmount, NotFound, ValidationFailed
from creditlines.events import outbox
from creditlines.events.types import EventType
from creditlines.ledger import journal
from creditlines.ledger.models import Reseller
from creditlines.ledger.repository import require_reseller
from creditlines.losses.models import CLAIM_STATUSES, Claim, WriteOff, WriteOffPart
from creditlines.money import to_minor
from creditlines.tenants import lookup

SETTLEMENTS = ("paid", "rejected")


def indemnity(insured_minor: int, rate_bp: int) -> int:
    """The insurer's share of an insured loss: ``insured × rate``, half up to the minor unit."""
    return (insured_minor * rate_bp + 5000) // 10000


@dataclass(frozen=True)
class _Due:
    funder_kind: str
    funder: str
    vendor_id: str | None
    written_off: int
    amount: int
    rate_bp: int | None


def split(parts: list[WriteOffPart], vendor_of: dict[str, str | None], rate_bp: int) -> list[_Due]:
    """The claims a write-off's parts give, in a stable order (vendors, financiers, insurers)."""
    vendors: dict[str, int] = {}
    financiers: dict[str, int] = {}
    insurers: dict[str, int] = {}
    for part in parts:
        if part.funder_kind == "vendor":
            vendor = vendor_of.get(part.line_id) or part.funder
            vendors[vendor] = vendors.get(vendor, 0) + part.amount_minor
        elif part.funder_kind == "financier":
            financiers[part.funder] = financiers.get(part.funder, 0) + part.amount_minor
        elif part.insured_minor > 0 and part.insurer is not None:
            insurers[part.insurer] = insurers.get(part.insurer, 0) + part.insured_minor
    due = [_Due("vendor", v, v, amount, amount, None) for v, amount in sorted(vendors.items())]
    due += [_Due("financier", f, None, amount, amount, None) for f, amount in sorted(financiers.items())]
    due += [
        _Due("insurer", i, None, amount, indemnity(amount, rate_bp), rate_bp) for i, amount in sorted(insurers.items())
    ]
    return due


def _data(claim: Claim) -> dict[str, Any]:
    return {
        "id": claim.id,
        "funder_kind": claim.funder_kind,
        "funder": claim.funder,
        "amount_minor": claim.amount_minor,
        "written_off_minor": claim.written_off_minor,
        "write_off_reference": claim.write_off_reference,
        "status": claim.status,
        "amount_paid_minor": claim.amount_paid_minor,
    }


def open_claims(
    session: Session,
    reseller: Reseller,
    *,
    write_off: WriteOff,
    parts: list[WriteOffPart],
    vendor_of: dict[str, str | None],
    rate_bp: int,
    actor: str,
    at: datetime,
) -> list[Claim]:
    """Open the claims of a write-off (the reseller locked by the caller)."""
    opened = []
    for due in split(parts, vendor_of, rate_bp):
        claim_id = new_id("clm", at)
        entry = journal.append(
            session,
            reseller,
            kind=journal.EntryKind.CLAIM_OPENED,
            actor=actor,
            at=at,
            reason=write_off.reason,
            amount_minor=due.amount,
            details={
                "claim": claim_id,
                "write_off": write_off.reference,
                "funder_kind": due.funder_kind,
                "funder": due.funder,
                "written_off_minor": due.written_off,
                "indemnity_rate_bp": due.rate_bp,
            },
        )
        claim = Claim(
            distributor_id=reseller.distributor_id,
            id=claim_id,
            reseller_id=reseller.id,
            write_off_reference=write_off.reference,
            funder_kind=due.funder_kind,
            funder=due.funder,
            vendor_id=due.vendor_id,
            written_off_minor=due.written_off,
            amount_minor=due.amount,
            indemnity_rate_bp=due.rate_bp,
            status="open",
            created_at=at,
            seq=entry.seq,
        )
        session.add(claim)
        opened.append(claim)
        outbox.record(
            session,
            EventType.CLAIM_OPENED,
            distributor_id=reseller.distributor_id,
            reseller_id=reseller.id,
            vendor_id=due.vendor_id,
            at=at,
            data=_data(claim),
        )
    return opened


def of_write_off(session: Session, distributor_id: str, reseller_id: str, reference: str) -> list[Claim]:
    return list(
        session.scalars(
            select(Claim)
            .where(
                Claim.distributor_id == distributor_id,
                Claim.reseller_id == reseller_id,
                Claim.write_off_reference == reference,
            )
            .order_by(Claim.seq)
        )
    )


def list_claims(
    session: Session,
    *,
    distributor_id: str,
    status: str | None = None,
    funder: str | None = None,
    reseller_id: str | None = None,
    after_id: str | None = None,
    limit: int = 100,
) -> list[Claim]:
    """The distributor's claims, oldest first (ids sort by creation)."""
    lookup.require_distributor(session, distributor_id)
    if status is not None and status not in CLAIM_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(CLAIM_STATUSES)}")
    stmt = select(Claim).where(Claim.distributor_id == distributor_id)
    if status is not None:
        stmt = stmt.where(Claim.status == status)
    if funder is not None:
        stmt = stmt.where(Claim.funder == funder)
    if reseller_id is not None:
        stmt = stmt.where(Claim.reseller_id == reseller_id)
    if after_id is not None:
        stmt = stmt.where(Claim.id > after_id)
    return list(session.scalars(stmt.order_by(Claim.id).limit(limit)))


def vendor_claims(
    session: Session,
    *,
    vendor_id: str,
    status: str | None = None,
    after: tuple[str, str] | None = None,
    limit: int = 100,
) -> list[Claim]:
    """A vendor's own claims at every distributor (and nothing else), by distributor then id."""
    if lookup.get_vendor(session, vendor_id) is None:
        raise NotFound(f"vendor {vendor_id!r} does not exist")
    if status is not None and status not in CLAIM_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(CLAIM_STATUSES)}")
    stmt = select(Claim).where(Claim.vendor_id == vendor_id, Claim.funder_kind == "vendor")
    if status is not None:
        stmt = stmt.where(Claim.status == status)
    if after is not None:
        stmt = stmt.where(
            (Claim.distributor_id > after[0]) | ((Claim.distributor_id == after[0]) & (Claim.id > after[1]))
        )
    return list(session.scalars(stmt.order_by(Claim.distributor_id, Claim.id).limit(limit)))


def get_claim(session: Session, *, distributor_id: str, claim_id: str) -> Claim:
    lookup.require_distributor(session, distributor_id)
    claim = session.get(Claim, (distributor_id, claim_id))
    if claim is None:
        raise NotFound(f"claim {claim_id!r} does not exist at {distributor_id!r}")
    return claim


def settle(
    session: Session,
    *,
    distributor_id: str,
    claim_id: str,
    status: str,
    amount_paid: Money | None,
    reference: str,
    actor: str,
) -> Claim:
    """Record the funder's answer: ``paid`` (``amount_paid`` ≤ amount, default the amount) or
    ``rejected`` (nothing paid). Once: a settled claim → ``409 already_settled``."""
    distributor = lookup.require_distributor(session, distributor_id)
    if status not in SETTLEMENTS:
        raise ValidationFailed("status must be paid or rejected")
    reference = validation.reference(reference)
    claim = get_claim(session, distributor_id=distributor_id, claim_id=claim_id)
    reseller = require_reseller(session, distributor_id, claim.reseller_id, lock=True)
    session.refresh(claim)
    if claim.status != "open":
        raise AlreadySettled(f"claim {claim_id!r} was already settled ({claim.status})", claim_status=claim.status)
    paid = 0
    if status == "paid":
        if amount_paid is None:
            paid = claim.amount_minor
        else:
            if amount_paid.currency.code != distributor.currency:
                raise CurrencyMismatch(f"amount_paid must be in {distributor.currency}", expected=distributor.currency)
            paid = to_minor(amount_paid)
            if paid <= 0 or paid > claim.amount_minor:
                raise InvalidAmount("amount_paid must be above 0 and no more than the claim's amount")
    elif amount_paid is not None:
        raise ValidationFailed("a rejected claim has no amount_paid")
    now = clock.now()
    journal.append(
        session,
        reseller,
        kind=journal.EntryKind.CLAIM_SETTLED,
        actor=actor,
        at=now,
        amount_minor=paid,
        status_after=None,
        details={"claim": claim.id, "status": status, "reference": reference, "funder": claim.funder},
    )
    claim.status = status
    claim.settled_at = now
    claim.settled_by = actor
    claim.amount_paid_minor = paid
    claim.settlement_reference = reference
    outbox.record(
        session,
        EventType.CLAIM_SETTLED,
        distributor_id=distributor_id,
        reseller_id=claim.reseller_id,
        vendor_id=claim.vendor_id,
        at=now,
        data={**_data(claim), "reference": reference},
    )
    session.flush()
    return claim

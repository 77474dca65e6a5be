"""Where a vendor may act (SPEC §11): a distributor admits a vendor, with an optional cap on the
lines it funds there and a flag that makes enrolments nominations; ending the partnership stops
every new programme, enrolment and purchase-event grant, while lines already granted run on.

Every change appends a :class:`PartnershipEntry` (who, when, the state after it).

Locks: a grant reads the partnership ``FOR SHARE`` before it locks programmes and resellers,
so ending a partnership waits for grants in flight and no grant starts after it commits. Lock
order everywhere: partnership, then programmes by id, then the reseller(s) by id.
"""

from __future__ import annotations

from moneyed import Money
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.errors import (
    CurrencyMismatch,
    InvalidAmount,
    LimitAbovePartnership,
    NotFound,
    PartnershipEnded,
    VendorNotAdmitted,
)
from creditlines.money import amount_str, from_minor, to_minor
from creditlines.partnerships import repository as repo
from creditlines.partnerships.models import Partnership, PartnershipEntry
from creditlines.tenants import lookup

NOTE_MAX = 500


def _check_parties(session: Session, distributor_id: str, vendor_id: str) -> lookup.DistributorInfo:
    distributor = lookup.get_distributor(session, distributor_id)
    if distributor is None:
        raise NotFound(f"distributor {distributor_id!r} does not exist")
    if lookup.get_vendor(session, vendor_id) is None:
        raise NotFound(f"vendor {vendor_id!r} does not exist")
    return distributor


def _append(session: Session, partnership: Partnership, *, kind: str, actor: str) -> None:
    partnership.seq += 1
    session.add(
        PartnershipEntry(
            distributor_id=partnership.distributor_id,
            vendor_id=partnership.vendor_id,
            seq=partnership.seq,
            at=partnership.updated_at,
            actor=actor,
            kind=kind,
            status_after=partnership.status,
            max_line_limit_after_minor=partnership.max_line_limit_minor,
            requires_approval_after=partnership.requires_approval,
            note_after=partnership.note,
        )
    )


def admit(
    session: Session,
    *,
    distributor_id: str,
    vendor_id: str,
    max_line_limit: Money | None,
    requires_approval: bool,
    note: str | None,
    actor: str,
) -> tuple[Partnership, bool]:
    """Admit ``vendor_id`` at ``distributor_id``, or set the terms of (or re-admit after an end)
    an existing partnership. Returns the partnership and whether this call created it. The same
    terms again change nothing and write no entry."""
    distributor = _check_parties(session, distributor_id, vendor_id)
    cap = None
    if max_line_limit is not None:
        if max_line_limit.currency.code != distributor.currency:
            raise CurrencyMismatch(f"max_line_limit must be in {distributor.currency}", expected=distributor.currency)
        cap = to_minor(max_line_limit)
        if cap < 0:
            raise InvalidAmount("max_line_limit cannot be negative")
    if note is not None:
        note = validation.text(note, "note", max_length=NOTE_MAX)
    validation.tenant_id(distributor_id, "distributor_id")
    validation.identifier(vendor_id, "vendor_id")
    now = clock.now()
    created = repo.insert_if_absent(
        session,
        dict(
            distributor_id=distributor_id,
            vendor_id=vendor_id,
            status="active",
            max_line_limit_minor=cap,
            requires_approval=requires_approval,
            note=note,
            created_at=now,
            updated_at=now,
            ended_at=None,
            seq=0,
        ),
    )
    partnership = repo.get(session, distributor_id, vendor_id, lock="update")
    assert partnership is not None
    if created:
        _append(session, partnership, kind="admitted", actor=actor)
    else:
        terms = (partnership.status, partnership.max_line_limit_minor, partnership.requires_approval, partnership.note)
        if terms == ("active", cap, requires_approval, note):
            return partnership, False
        kind = "readmitted" if partnership.status == "ended" else "updated"
        partnership.status, partnership.ended_at = "active", None
        partnership.max_line_limit_minor, partnership.requires_approval, partnership.note = cap, requires_approval, note
        partnership.updated_at = now
        _append(session, partnership, kind=kind, actor=actor)
    session.flush()
    return partnership, created


def end(session: Session, *, distributor_id: str, vendor_id: str, actor: str) -> Partnership:
    """End the partnership: no new programme, enrolment or grant; lines already granted run on.
    Ending an ended partnership changes nothing."""
    _check_parties(session, distributor_id, vendor_id)
    partnership = repo.get(session, distributor_id, vendor_id, lock="update")
    if partnership is None:
        raise NotFound(f"vendor {vendor_id!r} has no partnership with {distributor_id!r}")
    if partnership.status == "active":
        now = clock.now()
        partnership.status, partnership.ended_at, partnership.updated_at = "ended", now, now
        _append(session, partnership, kind="ended", actor=actor)
        session.flush()
    return partnership


def get(session: Session, *, distributor_id: str, vendor_id: str) -> Partnership:
    partnership = repo.get(session, distributor_id, vendor_id)
    if partnership is None:
        raise NotFound(f"vendor {vendor_id!r} has no partnership with {distributor_id!r}")
    return partnership


def require_admitted(
    session: Session, *, distributor_id: str, vendor_id: str, lock: bool = True, allow_ended: bool = False
) -> Partnership:
    """The partnership that lets ``vendor_id`` act at ``distributor_id``, read ``FOR SHARE`` (with
    ``lock``) so that it cannot end before this transaction does.

    A vendor never admitted there gets ``vendor_not_admitted`` — the same answer whether or not
    the distributor or its resellers exist; an ended one ``partnership_ended`` unless
    ``allow_ended`` (reads and wind-down changes)."""
    partnership = repo.get(session, distributor_id, vendor_id, lock="share" if lock else None)
    if partnership is None:
        raise VendorNotAdmitted(f"vendor {vendor_id!r} is not admitted at distributor {distributor_id!r}")
    if partnership.status != "active" and not allow_ended:
        raise PartnershipEnded(
            f"the partnership of {vendor_id!r} with {distributor_id!r} has ended: no new programme, enrolment or grant"
        )
    return partnership


def check_line_limit(partnership: Partnership, limit_minor: int, currency: str, what: str = "line_limit") -> None:
    """A line the vendor funds is never above the partnership's ``max_line_limit``."""
    cap = partnership.max_line_limit_minor
    if cap is not None and limit_minor > cap:
        raise LimitAbovePartnership(
            f"{what} {amount_str(limit_minor, currency)} {currency} is above the partnership's max_line_limit "
            f"{amount_str(cap, currency)} {currency}",
            max_line_limit=from_minor(cap, currency),
        )


def list_for_distributor(session: Session, *, distributor_id: str, after: str | None, limit: int) -> list[Partnership]:
    if lookup.get_distributor(session, distributor_id) is None:
        raise NotFound(f"distributor {distributor_id!r} does not exist")
    return repo.of_distributor(session, distributor_id, after=after, limit=limit)


def list_for_vendor(session: Session, *, vendor_id: str, after: str | None, limit: int) -> list[Partnership]:
    if lookup.get_vendor(session, vendor_id) is None:
        raise NotFound(f"vendor {vendor_id!r} does not exist")
    return repo.of_vendor(session, vendor_id, after=after, limit=limit)


def history(session: Session, *, distributor_id: str, vendor_id: str) -> list[PartnershipEntry]:
    get(session, distributor_id=distributor_id, vendor_id=vendor_id)
    return repo.entries(session, distributor_id, vendor_id)

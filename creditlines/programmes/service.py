"""Vendor programmes: standing lines (Mezzanine), purchase-triggered lines (the OEM offer), budgets.

This module creates, changes, closes, reads and lists programmes; ``programmes.enrolment``
enrols resellers in standing programmes, ``programmes.purchases`` applies purchase events, and
both grant through ``programmes.grants`` (budget check and grant).

A vendor acts only at distributors that admitted it (``partnerships``). Lock order, everywhere:
the partnership (``FOR SHARE``: it cannot end meanwhile), then programme rows by id, then
reseller rows by id. Every value a decision rests on (``ends_on``, status, budget, the
reseller's status, its lines) is read after the lock that protects it, so a grant racing a
``PATCH`` sees the new ``ends_on``, a close or a lowered budget; two grants racing for a
programme's last slot or last euro cannot both win.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from moneyed import Money
from sqlalchemy.orm import Session

from creditlines import clock, ledger, validation
from creditlines.errors import (
    BudgetExhausted,
    Conflict,
    CurrencyMismatch,
    InvalidAmount,
    NotFound,
    ProgrammeClosed,
    ValidationFailed,
)
from creditlines.ledger import repository as ledger_repo
from creditlines.ledger.models import ON_EXPIRY, USABLE_FOR, Line
from creditlines.money import amount_str, from_minor, to_minor
from creditlines.partnerships import service as partnerships
from creditlines.programmes import repository as repo
from creditlines.programmes.models import PROGRAMME_KINDS, Programme, ProgrammeStatus
from creditlines.tenants import lookup


@dataclass(frozen=True)
class ProgrammeView:
    programme: Programme
    currency: str
    beneficiaries: int
    total_limit: Money
    total_drawn: Money
    beneficiaries_left: int | None
    total_limit_left: Money | None


def programme_id_of(code: str, distributor_id: str) -> str:
    return f"{code}@{distributor_id}"


def split_programme_id(programme_id: str) -> tuple[str, str]:
    code, sep, distributor_id = programme_id.rpartition("@")
    if not sep or not code or not distributor_id:
        raise NotFound(f"programme {programme_id!r} does not exist")
    return code, distributor_id


def checked_minor(money: Money, distributor: lookup.DistributorInfo, what: str, *, positive: bool = True) -> int:
    """``money`` in minor units, refused unless in the distributor's currency and positive (or zero,
    with ``positive`` False)."""
    if money.currency.code != distributor.currency:
        raise CurrencyMismatch(f"{what} must be in {distributor.currency}", expected=distributor.currency)
    minor = to_minor(money)
    if minor < 0 or (positive and minor == 0):
        raise InvalidAmount(f"{what} must be positive")
    return minor


def _require_vendor(session: Session, vendor_id: str) -> None:
    if lookup.get_vendor(session, vendor_id) is None:
        raise NotFound(f"vendor {vendor_id!r} does not exist")


def get_programme(
    session: Session, *, vendor_id: str, programme_id: str, lock: bool = False, check_partnership: bool = True
) -> Programme:
    """The vendor's programme (``lock``: for update, read fresh). A vendor that was never admitted
    at the programme's distributor gets ``vendor_not_admitted``, whatever the programme id."""
    _code, distributor_id = split_programme_id(programme_id)
    if check_partnership:
        partnerships.require_admitted(
            session, distributor_id=distributor_id, vendor_id=vendor_id, lock=False, allow_ended=True
        )
    programme = repo.get_programme(session, distributor_id, vendor_id, programme_id, lock=lock)
    if programme is None:
        raise NotFound(f"programme {programme_id!r} does not exist for vendor {vendor_id!r}")
    return programme


def create_programme(
    session: Session,
    *,
    vendor_id: str,
    distributor_id: str,
    code: str,
    name: str,
    kind: str,
    line_limit: Money,
    starts_on: date,
    ends_on: date,
    usable_for: str = "any",
    on_expiry: str = "transfer_to_base",
    max_beneficiaries: int | None = None,
    max_total_limit: Money | None = None,
    trigger_category: str | None = None,
    trigger_min_amount: Money | None = None,
    line_duration_months: int | None = None,
) -> tuple[Programme, bool]:
    """Create a programme; the same definition again returns it (created False).

    Only where the distributor admitted the vendor (``vendor_not_admitted`` otherwise, whether or
    not the distributor exists), while the partnership is active, with a ``line_limit`` within
    its ``max_line_limit``."""
    _require_vendor(session, vendor_id)
    partnership = partnerships.require_admitted(
        session, distributor_id=distributor_id, vendor_id=vendor_id, allow_ended=True
    )
    distributor = lookup.require_distributor(session, distributor_id)
    validation.tenant_id(code, "code")
    validation.text(name, "name", max_length=validation.NAME_MAX)
    validation.day(starts_on, "starts_on")
    validation.day(ends_on, "ends_on")
    if kind not in PROGRAMME_KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(PROGRAMME_KINDS)}")
    if usable_for not in USABLE_FOR:
        raise ValidationFailed(f"usable_for must be one of {', '.join(USABLE_FOR)}")
    if on_expiry not in ON_EXPIRY:
        raise ValidationFailed(f"on_expiry must be one of {', '.join(ON_EXPIRY)}")
    if ends_on < starts_on:
        raise ValidationFailed("ends_on is before starts_on")
    if max_beneficiaries is not None and max_beneficiaries < 0:
        raise ValidationFailed("max_beneficiaries cannot be negative")
    line_limit_minor = checked_minor(line_limit, distributor, "line_limit")
    values: dict[str, object] = dict(
        name=name,
        kind=kind,
        line_limit_minor=line_limit_minor,
        starts_on=starts_on,
        ends_on=ends_on,
        usable_for=usable_for,
        on_expiry=on_expiry,
        max_beneficiaries=max_beneficiaries,
        max_total_limit_minor=None
        if max_total_limit is None
        else checked_minor(max_total_limit, distributor, "max_total_limit", positive=False),
        trigger_category=None,
        trigger_min_minor=None,
        line_duration_months=None,
    )
    if kind == "purchase_triggered":
        if (
            not trigger_category
            or len(trigger_category) > 100
            or trigger_min_amount is None
            or not line_duration_months
            or not 1 <= line_duration_months <= 120
        ):
            raise ValidationFailed(
                "a purchase_triggered programme needs trigger.product_category, "
                "trigger.min_amount and line_duration_months (1-120)"
            )
        values.update(
            trigger_category=trigger_category,
            trigger_min_minor=checked_minor(trigger_min_amount, distributor, "trigger.min_amount"),
            line_duration_months=line_duration_months,
        )
    elif trigger_category or trigger_min_amount is not None or line_duration_months:
        raise ValidationFailed(
            "a standing programme has no trigger and no line_duration_months: its lines run until ends_on"
        )
    programme_id = programme_id_of(code, distributor_id)
    existing = repo.get_programme(session, distributor_id, vendor_id, programme_id)
    if existing is not None:
        if any(getattr(existing, key) != value for key, value in values.items()):
            raise Conflict(f"programme {programme_id!r} exists with another definition")
        return existing, False
    partnerships.require_admitted(session, distributor_id=distributor_id, vendor_id=vendor_id, lock=False)
    partnerships.check_line_limit(partnership, line_limit_minor, distributor.currency)
    now = clock.now()
    programme = Programme(
        distributor_id=distributor_id,
        vendor_id=vendor_id,
        id=programme_id,
        code=code,
        status=ProgrammeStatus.ACTIVE,
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(programme)
    session.flush()
    return programme, True


class _Unset(enum.Enum):
    """A budget field the PATCH left out (``None`` removes that budget)."""

    UNSET = enum.auto()


_UNSET: Final = _Unset.UNSET


def update_programme(
    session: Session,
    *,
    vendor_id: str,
    programme_id: str,
    actor: str,
    name: str | None = None,
    ends_on: date | None = None,
    status: str | None = None,
    max_beneficiaries: int | None | Literal[_Unset.UNSET] = _UNSET,
    max_total_limit: Money | None | Literal[_Unset.UNSET] = _UNSET,
) -> Programme:
    """Rename, move ``ends_on`` (a standing programme's active lines move with it), change the
    budget, or close (final: grants nothing more; existing lines run to their end).

    Once the partnership has ended, a programme can still be renamed, closed, shortened or have
    its budget changed (winding down), but its lines cannot be prolonged (``partnership_ended``)."""
    _code, distributor_id = split_programme_id(programme_id)
    partnership = partnerships.require_admitted(
        session, distributor_id=distributor_id, vendor_id=vendor_id, allow_ended=True
    )
    programme = get_programme(
        session, vendor_id=vendor_id, programme_id=programme_id, lock=True, check_partnership=False
    )
    distributor = lookup.require_distributor(session, programme.distributor_id)
    now = clock.now()
    if status is not None:
        if status not in ("active", "closed"):
            raise ValidationFailed("status must be active or closed")
        if status == "active" and programme.status == "closed":
            raise ProgrammeClosed(f"programme {programme_id!r} is closed; closing is final")
        if status == "closed" and programme.status == "active":
            programme.status, programme.closed_at = ProgrammeStatus.CLOSED, now
    if programme.status == "closed" and (
        ends_on is not None or max_beneficiaries is not _UNSET or max_total_limit is not _UNSET
    ):
        raise ProgrammeClosed(f"programme {programme_id!r} is closed")
    if name is not None:
        programme.name = validation.text(name, "name", max_length=validation.NAME_MAX)
    if max_beneficiaries is not _UNSET:
        if max_beneficiaries is not None and (not isinstance(max_beneficiaries, int) or max_beneficiaries < 0):
            raise ValidationFailed("max_beneficiaries must be a non-negative integer or null")
        programme.max_beneficiaries = max_beneficiaries
    if max_total_limit is not _UNSET:
        programme.max_total_limit_minor = (
            None
            if max_total_limit is None
            else checked_minor(max_total_limit, distributor, "max_total_limit", positive=False)
        )
    if max_beneficiaries is not _UNSET or max_total_limit is not _UNSET:
        beneficiaries, total_limit, _ = repo.utilisation(session, programme, clock.local_today(distributor.timezone))
        if (programme.max_beneficiaries is not None and beneficiaries > programme.max_beneficiaries) or (
            programme.max_total_limit_minor is not None and total_limit > programme.max_total_limit_minor
        ):
            raise BudgetExhausted(
                f"programme {programme_id!r} already has {beneficiaries} beneficiaries and "
                f"{amount_str(total_limit, distributor.currency)} {distributor.currency} of lines: "
                "a budget cannot be set below what is already granted"
            )
    if ends_on is not None and ends_on != programme.ends_on:
        validation.day(ends_on, "ends_on")
        today = clock.local_today(distributor.timezone)
        if ends_on < programme.starts_on or ends_on < today:
            raise ValidationFailed("ends_on cannot be before starts_on or in the past")
        if ends_on > programme.ends_on and partnership.status != "active":
            partnerships.require_admitted(session, distributor_id=distributor_id, vendor_id=vendor_id, lock=False)
        programme.ends_on = ends_on
        if programme.kind == "standing":
            _move_line_ends(session, programme, ends_on, actor=actor)
    programme.updated_at = now
    session.flush()
    return programme


def _move_line_ends(session: Session, programme: Programme, ends_on: date, *, actor: str) -> None:
    """Every active line of the (locked) programme now ends on ``ends_on``. Each reseller is
    locked in id order and its lines re-read under that lock: a line revoked or expired since
    the first read is left alone."""
    reseller_ids = sorted({line.reseller_id for line in repo.active_lines_of_programme(session, programme)})
    for reseller_id in reseller_ids:
        reseller = ledger_repo.get_reseller(session, programme.distributor_id, reseller_id, lock=True)
        assert reseller is not None  # resellers are never deleted
        for line in repo.active_lines_of_programme(session, programme, reseller_id):
            ledger.extend_line(
                session,
                reseller=reseller,
                line=line,
                valid_until=ends_on,
                actor=actor,
                reason=f"programme {programme.id} now ends on {ends_on.isoformat()}",
            )


def view(session: Session, programme: Programme) -> ProgrammeView:
    distributor = lookup.require_distributor(session, programme.distributor_id)
    cur = distributor.currency
    day = clock.local_today(distributor.timezone)
    beneficiaries, total_limit, total_drawn = repo.utilisation(session, programme, day)
    return ProgrammeView(
        programme=programme,
        currency=cur,
        beneficiaries=beneficiaries,
        total_limit=from_minor(total_limit, cur),
        total_drawn=from_minor(total_drawn, cur),
        beneficiaries_left=None
        if programme.max_beneficiaries is None
        else max(0, programme.max_beneficiaries - beneficiaries),
        total_limit_left=None
        if programme.max_total_limit_minor is None
        else from_minor(max(0, programme.max_total_limit_minor - total_limit), cur),
    )


def programme_lines(
    session: Session, programme: Programme, *, after: tuple[str, str] | None, limit: int, status: str | None = None
) -> list[Line]:
    return repo.lines_of_programme(session, programme, after=after, limit=limit, status=status)


def list_programmes(session: Session, *, vendor_id: str) -> list[Programme]:
    _require_vendor(session, vendor_id)
    return repo.programmes_of_vendor(session, vendor_id)

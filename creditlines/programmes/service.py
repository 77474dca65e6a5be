"""Vendor programmes: standing lines (Mezzanine), purchase-triggered lines (the OEM offer), budgets.

A vendor acts only at distributors that admitted it (``partnerships``). Lock order, everywhere:
the partnership (``FOR SHARE``: it cannot end meanwhile), then programme rows by id, then
reseller rows by id. Every value a decision rests on (``ends_on``, status, budget, the
reseller's status, its lines) is read after the lock that protects it, so a grant racing a
``PATCH`` sees the new ``ends_on``, a close or a lowered budget; two grants racing for a
programme's last slot or last euro cannot both win.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from moneyed import Money
from sqlalchemy.orm import Session

from creditlines import clock, ledger, metrics, validation
from creditlines.dates import months_validity_end
from creditlines.decisions import nominations
from creditlines.errors import (
    BudgetExhausted,
    Conflict,
    CurrencyMismatch,
    IdempotencyConflict,
    InvalidAmount,
    NotFound,
    ProgrammeClosed,
    ValidationFailed,
)
from creditlines.events import alerts
from creditlines.ledger import repository as ledger_repo
from creditlines.ledger.models import ON_EXPIRY, USABLE_FOR, Line, Reseller
from creditlines.money import amount_str, from_minor, to_minor
from creditlines.partnerships import repository as partnership_repo
from creditlines.partnerships import service as partnerships
from creditlines.partnerships.models import Partnership
from creditlines.programmes import repository as repo
from creditlines.programmes.models import PROGRAMME_KINDS, Programme
from creditlines.tenants import lookup

EVENT_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ProgrammeView:
    programme: Programme
    currency: str
    beneficiaries: int
    total_limit: Money
    total_drawn: Money
    beneficiaries_left: int | None
    total_limit_left: Money | None


@dataclass(frozen=True)
class GrantResult:
    subject: str  # reseller id (enrolment) or programme id (purchase event)
    outcome: str
    reason: str | None
    line: Line | None
    nomination_id: str | None = None  # outcome pending_approval (decisions.nominations)


def programme_id_of(code: str, distributor_id: str) -> str:
    return f"{code}@{distributor_id}"


def split_programme_id(programme_id: str) -> tuple[str, str]:
    code, sep, distributor_id = programme_id.rpartition("@")
    if not sep or not code or not distributor_id:
        raise NotFound(f"programme {programme_id!r} does not exist")
    return code, distributor_id


def _minor(money: Money, distributor: lookup.DistributorInfo, what: str, *, positive: bool = True) -> int:
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
    distributor = ledger.require_distributor(session, distributor_id)
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
    values = dict(
        name=name,
        kind=kind,
        line_limit_minor=_minor(line_limit, distributor, "line_limit"),
        starts_on=starts_on,
        ends_on=ends_on,
        usable_for=usable_for,
        on_expiry=on_expiry,
        max_beneficiaries=max_beneficiaries,
        max_total_limit_minor=None
        if max_total_limit is None
        else _minor(max_total_limit, distributor, "max_total_limit", positive=False),
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
            trigger_min_minor=_minor(trigger_min_amount, distributor, "trigger.min_amount"),
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
    partnerships.check_line_limit(partnership, values["line_limit_minor"], distributor.currency)  # type: ignore[arg-type]
    now = clock.now()
    programme = Programme(
        distributor_id=distributor_id,
        vendor_id=vendor_id,
        id=programme_id,
        code=code,
        status="active",
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(programme)
    session.flush()
    return programme, True


_UNSET = object()


def update_programme(
    session: Session,
    *,
    vendor_id: str,
    programme_id: str,
    actor: str,
    name: str | None = None,
    ends_on: date | None = None,
    status: str | None = None,
    max_beneficiaries: object = _UNSET,
    max_total_limit: object = _UNSET,
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
    distributor = ledger.require_distributor(session, programme.distributor_id)
    now = clock.now()
    if status is not None:
        if status not in ("active", "closed"):
            raise ValidationFailed("status must be active or closed")
        if status == "active" and programme.status == "closed":
            raise ProgrammeClosed(f"programme {programme_id!r} is closed; closing is final")
        if status == "closed" and programme.status == "active":
            programme.status, programme.closed_at = "closed", now
    if programme.status == "closed" and (
        ends_on is not None or max_beneficiaries is not _UNSET or max_total_limit is not _UNSET
    ):
        raise ProgrammeClosed(f"programme {programme_id!r} is closed")
    if name is not None:
        programme.name = validation.text(name, "name", max_length=validation.NAME_MAX)
    if max_beneficiaries is not _UNSET:
        if max_beneficiaries is not None and (not isinstance(max_beneficiaries, int) or max_beneficiaries < 0):
            raise ValidationFailed("max_beneficiaries must be a non-negative integer or null")
        programme.max_beneficiaries = max_beneficiaries  # type: ignore[assignment]
    if max_total_limit is not _UNSET:
        programme.max_total_limit_minor = (
            None if max_total_limit is None else _minor(max_total_limit, distributor, "max_total_limit", positive=False)
        )  # type: ignore[arg-type]
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
    distributor = ledger.require_distributor(session, programme.distributor_id)
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


def _budget_allows(session: Session, programme: Programme, day: date, extra_limit: int) -> bool:
    if programme.max_beneficiaries is None and programme.max_total_limit_minor is None:
        return True
    beneficiaries, total_limit, _ = repo.utilisation(session, programme, day)
    if programme.max_beneficiaries is not None and beneficiaries + 1 > programme.max_beneficiaries:
        return False
    if programme.max_total_limit_minor is not None and total_limit + extra_limit > programme.max_total_limit_minor:
        return False
    return True


def _grant(
    session: Session,
    programme: Programme,
    reseller: Reseller,
    *,
    limit_minor: int,
    valid_from: date,
    valid_until: date,
    actor: str,
    reason: str,
) -> Line:
    distributor = ledger.require_distributor(session, programme.distributor_id)
    line = ledger.grant_programme_line(
        session,
        distributor_id=programme.distributor_id,
        reseller_id=reseller.id,
        vendor_id=programme.vendor_id,
        programme_id=programme.id,
        limit=from_minor(limit_minor, distributor.currency),
        valid_until=valid_until,
        valid_from=valid_from,
        usable_for=programme.usable_for,
        on_expiry=programme.on_expiry,
        actor=actor,
        reason=reason,
        reseller=reseller,
    )
    alerts.programme_granted(session, programme, limit_minor=limit_minor, day=clock.local_today(distributor.timezone))
    return line


def enrol(
    session: Session,
    *,
    vendor_id: str,
    programme_id: str,
    resellers: list[tuple[str, Money | None]],
    actor: str,
) -> list[GrantResult]:
    """Enrol resellers in a standing programme; an outcome per reseller, in the order given.

    Nothing about the distributor's resellers is answered unless the distributor admitted the
    vendor and the partnership is active."""
    _code, distributor_id = split_programme_id(programme_id)
    partnership = partnerships.require_admitted(session, distributor_id=distributor_id, vendor_id=vendor_id)
    programme = get_programme(
        session, vendor_id=vendor_id, programme_id=programme_id, lock=True, check_partnership=False
    )
    if programme.kind != "standing":
        raise ValidationFailed(
            "only standing programmes take enrolments; purchase-triggered lines come from purchase events"
        )
    if programme.status == "closed":
        raise ProgrammeClosed(f"programme {programme_id!r} is closed: it grants nothing more")
    if not resellers or len(resellers) > 1000:
        raise ValidationFailed("enrol 1 to 1,000 resellers per request")
    if len({r for r, _ in resellers}) != len(resellers):
        raise ValidationFailed("a reseller appears twice in the request")
    distributor = ledger.require_distributor(session, programme.distributor_id)
    limits: dict[str, int] = {}
    for reseller_id, limit in resellers:
        minor = programme.line_limit_minor if limit is None else _minor(limit, distributor, "limit")
        if minor > programme.line_limit_minor:
            raise InvalidAmount(
                f"{reseller_id}: limit above the programme's line_limit "
                f"{amount_str(programme.line_limit_minor, distributor.currency)}"
            )
        partnerships.check_line_limit(partnership, minor, distributor.currency, f"{reseller_id}: limit")
        limits[reseller_id] = minor
    day = clock.local_today(distributor.timezone)
    outcomes: dict[str, GrantResult] = {}
    for reseller_id in sorted(limits):  # lock order: by reseller id
        reseller = ledger_repo.get_reseller(session, programme.distributor_id, reseller_id, lock=True)
        if reseller is None:
            outcomes[reseller_id] = GrantResult(
                reseller_id, "unknown_reseller", "no such reseller at this distributor", None
            )
        elif reseller.status == "terminated":
            outcomes[reseller_id] = GrantResult(reseller_id, "not_eligible", "reseller terminated", None)
        elif day > programme.ends_on:
            outcomes[reseller_id] = GrantResult(reseller_id, "not_eligible", "programme ended", None)
        elif (line := repo.active_line_of(session, programme, reseller_id, day)) is not None:
            outcomes[reseller_id] = GrantResult(reseller_id, "already_granted", None, line)
        elif not _budget_allows(session, programme, day, limits[reseller_id]):
            outcomes[reseller_id] = GrantResult(reseller_id, "budget_exhausted", None, None)
        elif partnership.requires_approval:  # the distributor decides (SPEC §12)
            outcomes[reseller_id] = nominations.nominate(
                session, programme, reseller, limit_minor=limits[reseller_id], actor=actor
            )
        else:
            line = _grant(
                session,
                programme,
                reseller,
                limit_minor=limits[reseller_id],
                valid_from=max(day, programme.starts_on),
                valid_until=programme.ends_on,
                actor=actor,
                reason=f"enrolled in {programme.id}",
            )
            outcomes[reseller_id] = GrantResult(reseller_id, "granted", None, line)
    for result in outcomes.values():
        metrics.GRANTS.labels(programme.id, result.outcome).inc()
    return [outcomes[reseller_id] for reseller_id, _ in resellers]


@dataclass(frozen=True)
class EventAnswer:
    event_id: str
    results: list[dict]


def line_snapshot(line: Line | None, currency: str) -> dict | None:
    if line is None:
        return None
    return {
        "id": line.id,
        "reseller_id": line.reseller_id,
        "programme_id": line.programme_id,
        "vendor_id": line.vendor_id,
        "funder": line.funder,
        "limit": {"amount": amount_str(line.limit_minor, currency), "currency": currency},
        "drawn": {"amount": amount_str(line.drawn_minor, currency), "currency": currency},
        "valid_from": line.valid_from.isoformat(),
        "valid_until": line.valid_until.isoformat() if line.valid_until else None,
        "status": line.status,
        "usable_for": line.usable_for,
        "on_expiry": line.on_expiry,
    }


def record_purchase(
    session: Session,
    *,
    distributor_id: str,
    event_id: str,
    reseller_id: str,
    vendor_id: str,
    product_category: str,
    amount: Money,
    occurred_at: datetime,
    actor: str,
) -> tuple[EventAnswer, bool]:
    """Apply a purchase event to every programme of that vendor at that distributor.

    Idempotent on ``event_id``: a re-delivery answers the stored results (created False);
    the same id with another body is an ``idempotency_conflict``.
    """
    distributor = ledger.require_distributor(session, distributor_id)
    validation.event_id(event_id)
    validation.text(product_category, "product_category", max_length=validation.CATEGORY_MAX)
    amount_minor = _minor(amount, distributor, "amount")
    now = clock.now()
    if occurred_at > now + EVENT_CLOCK_SKEW:
        raise ValidationFailed("occurred_at is in the future")
    if ledger_repo.get_reseller(session, distributor_id, reseller_id) is None:
        raise NotFound(f"reseller {reseller_id!r} does not exist at {distributor_id!r}")
    body = dict(
        reseller_id=reseller_id,
        vendor_id=vendor_id,
        product_category=product_category,
        amount_minor=amount_minor,
        occurred_at=occurred_at,
    )
    # Locks first, in the one order (partnership, programmes by id, reseller), and only then the
    # claim row: its foreign key takes a share lock on the reseller, which, taken before the
    # reseller's own lock, deadlocked with a drawing on the same reseller. A second copy of the
    # event waits on these locks, then finds the first copy's claim and answers its results.
    partnership = partnership_repo.get(session, distributor_id, vendor_id, lock="share")
    programmes = repo.programmes_of_vendor(session, vendor_id, distributor_id=distributor_id, lock=True)
    reseller = ledger_repo.get_reseller(session, distributor_id, reseller_id, lock=True)
    assert reseller is not None  # resellers are never deleted
    claimed = repo.claim_event(
        session,
        dict(
            distributor_id=distributor_id, event_id=event_id, received_at=now, received_by=actor, results="[]", **body
        ),
    )
    event = repo.get_event(session, distributor_id, event_id)
    assert event is not None
    if not claimed:
        if any(getattr(event, key) != value for key, value in body.items()):
            raise IdempotencyConflict(f"event {event_id!r} was already received with another body")
        return EventAnswer(event_id, json.loads(event.results)), False

    trigger_day = clock.local_date(occurred_at, distributor.timezone)
    today = clock.local_date(now, distributor.timezone)
    results = []
    for programme in programmes:
        result = _apply_purchase(
            session,
            programme,
            reseller,
            partnership,
            amount_minor=amount_minor,
            category=product_category,
            trigger_day=trigger_day,
            today=today,
            actor=actor,
            event_id=event_id,
        )
        metrics.GRANTS.labels(programme.id, result.outcome).inc()
        results.append(
            {
                "programme_id": programme.id,
                "outcome": result.outcome,
                "reason": result.reason,
                "line": line_snapshot(result.line, distributor.currency),
            }
        )
    event.results = json.dumps(results)
    session.flush()
    return EventAnswer(event_id, results), True


def _apply_purchase(
    session: Session,
    programme: Programme,
    reseller: Reseller,
    partnership: Partnership | None,
    *,
    amount_minor: int,
    category: str,
    trigger_day: date,
    today: date,
    actor: str,
    event_id: str,
) -> GrantResult:
    def no(outcome: str, reason: str) -> GrantResult:
        return GrantResult(programme.id, outcome, reason, None)

    if programme.kind != "purchase_triggered":
        return no("not_qualifying", "standing programme: its lines come from enrolment")
    if programme.status == "closed":
        return no("not_qualifying", "programme closed")
    if category != programme.trigger_category:
        return no("not_qualifying", f"category {category!r} does not trigger this programme")
    if amount_minor < programme.trigger_min_minor:
        return no("not_qualifying", "purchase below the programme's minimum")
    if not programme.starts_on <= trigger_day <= programme.ends_on:
        return no("not_qualifying", "purchase outside the programme's window")
    if reseller.status == "terminated":
        return no("not_eligible", "reseller terminated")
    if partnership is None or partnership.status != "active":
        return no("not_eligible", "the vendor's partnership with this distributor has ended")
    cap = partnership.max_line_limit_minor
    if cap is not None and programme.line_limit_minor > cap:
        return no("not_eligible", "the programme's line_limit is above the partnership's max_line_limit")
    end = months_validity_end(trigger_day, programme.line_duration_months)
    if end < today:
        return no("not_qualifying", "the line would already have ended")
    reason = f"purchase event {event_id}"
    existing = repo.active_line_of(session, programme, reseller.id, today)
    if existing is not None:
        if end > existing.valid_until:
            ledger.extend_line(session, reseller=reseller, line=existing, valid_until=end, actor=actor, reason=reason)
        return GrantResult(programme.id, "extended", None, existing)
    if not _budget_allows(session, programme, today, programme.line_limit_minor):
        return no("budget_exhausted", "programme budget exhausted")
    line = _grant(
        session,
        programme,
        reseller,
        limit_minor=programme.line_limit_minor,
        valid_from=trigger_day,
        valid_until=end,
        actor=actor,
        reason=reason,
    )
    return GrantResult(programme.id, "granted", None, line)


def programme_lines(
    session: Session, programme: Programme, *, after: tuple[str, str] | None, limit: int, status: str | None = None
) -> list[Line]:
    return repo.lines_of_programme(session, programme, after=after, limit=limit, status=status)


def list_programmes(session: Session, *, vendor_id: str) -> list[Programme]:
    _require_vendor(session, vendor_id)
    return repo.programmes_of_vendor(session, vendor_id)

"""Purchase events from the ERP and the line they trigger (the OEM offer): applied to every
programme of the vendor at the distributor, idempotent on the event id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from moneyed import Money
from sqlalchemy.orm import Session

from creditlines import clock, ledger, metrics, validation
from creditlines.dates import months_validity_end
from creditlines.errors import IdempotencyConflict, NotFound, ValidationFailed
from creditlines.ledger import repository as ledger_repo
from creditlines.ledger.models import Line, Reseller
from creditlines.money import amount_str
from creditlines.partnerships import repository as partnership_repo
from creditlines.partnerships.models import Partnership
from creditlines.programmes import repository as repo
from creditlines.programmes.grants import GrantResult, budget_allows, grant
from creditlines.programmes.models import Programme
from creditlines.programmes.service import checked_minor
from creditlines.tenants import lookup

EVENT_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class EventAnswer:
    event_id: str
    results: list[dict[str, Any]]


def line_snapshot(line: Line | None, currency: str) -> dict[str, Any] | None:
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
    distributor = lookup.require_distributor(session, distributor_id)
    validation.event_id(event_id)
    validation.text(product_category, "product_category", max_length=validation.CATEGORY_MAX)
    amount_minor = checked_minor(amount, distributor, "amount")
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
    results: list[dict[str, Any]] = []
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
    # A purchase_triggered programme has both (the kind_shape check constraint of the table).
    assert programme.trigger_min_minor is not None and programme.line_duration_months is not None
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
        if existing.valid_until is not None and end > existing.valid_until:
            ledger.extend_line(session, reseller=reseller, line=existing, valid_until=end, actor=actor, reason=reason)
        return GrantResult(programme.id, "extended", None, existing)
    if not budget_allows(session, programme, today, programme.line_limit_minor):
        return no("budget_exhausted", "programme budget exhausted")
    line = grant(
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

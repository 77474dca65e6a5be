"""A reseller's life at its distributor: creation, base limit, holds, termination, listings.

Every write locks the reseller first (the lock order of docs/DECISIONS.md) and appends its
ledger entries through :mod:`creditlines.ledger.journal`.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from moneyed import Money
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines import eligibility as elig
from creditlines.errors import InvalidAmount, ResellerTerminated, ValidationFailed
from creditlines.ledger import events as ledger_events
from creditlines.ledger import journal, terms
from creditlines.ledger import repository as repo
from creditlines.ledger.availability import current_state
from creditlines.ledger.held_release import release_held_orders
from creditlines.ledger.lines import close_lines
from creditlines.ledger.models import Line, Reseller
from creditlines.ledger.repository import require_reseller
from creditlines.ledger.views import ResellerSummary
from creditlines.tenants.lookup import require_distributor


def upsert_reseller(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    name: str,
    actor: str,
    payment_terms_days: Any = terms.UNSET,
) -> tuple[Reseller, bool]:
    """Create a reseller (with its base line, limit 0) or rename it. Returns (reseller, created).
    ``payment_terms_days`` (SPEC §18), when given: the reseller's own terms (None: the distributor's)."""
    distributor = require_distributor(session, distributor_id)
    validation.identifier(reseller_id, "reseller id")
    validation.text(name, "name", max_length=200)
    if payment_terms_days is not terms.UNSET and payment_terms_days is not None:
        terms.check_terms_days(payment_terms_days)
    now = clock.now()
    created = repo.insert_reseller_if_absent(
        session,
        {
            "distributor_id": distributor_id,
            "id": reseller_id,
            "name": name,
            "status": "active",
            "ledger_seq": 0,
            "created_at": now,
            "updated_at": now,
        },
    )
    reseller = require_reseller(session, distributor_id, reseller_id, lock=True)
    if created:
        journal.append(
            session,
            reseller,
            kind="reseller_created",
            actor=actor,
            at=now,
            status_after="active",
            details={"name": name},
        )
        ledger_events.reseller_created(session, reseller, name=name, at=now)
        base = Line(
            distributor_id=distributor_id,
            id=str(uuid.uuid4()),
            reseller_id=reseller_id,
            kind="base",
            funder=distributor.id,
            limit_minor=0,
            drawn_minor=0,
            valid_from=clock.local_date(now, distributor.timezone),
            valid_until=None,
            usable_for="any",
            on_expiry=None,
            status="active",
            granted_at=now,
            grant_seq=reseller.ledger_seq + 1,
        )
        session.add(base)
        journal.append(
            session,
            reseller,
            kind="line_opened",
            actor=actor,
            at=now,
            line_id=base.id,
            limit_after_minor=0,
            status_after="active",
            drawn_delta_minor=0,
            details={"kind": "base", "funder": distributor.id},
        )
    elif reseller.name != name:
        journal.append(
            session, reseller, kind="reseller_renamed", actor=actor, at=now, details={"from": reseller.name, "to": name}
        )
        reseller.name = name
        reseller.updated_at = now
    if payment_terms_days is not terms.UNSET and payment_terms_days != reseller.payment_terms_days:
        journal.append(
            session,
            reseller,
            kind="payment_terms_changed",
            actor=actor,
            at=now,
            details={"from": reseller.payment_terms_days, "to": payment_terms_days},
        )
        reseller.payment_terms_days = payment_terms_days
        reseller.updated_at = now
    session.flush()
    return reseller, created


def get_reseller(session: Session, *, distributor_id: str, reseller_id: str) -> Reseller:
    require_distributor(session, distributor_id)
    return require_reseller(session, distributor_id, reseller_id, lock=False)


def _base_line(lines: list[Line]) -> Line:
    for line in lines:
        if line.kind == "base":
            return line
    raise RuntimeError("every reseller has a base line")  # pragma: no cover


def set_base_limit(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    limit: Money,
    reason: str,
    actor: str,
) -> Line:
    """Set the base line's limit. 0 means no credit. A cut may leave the reseller over limit."""
    distributor = require_distributor(session, distributor_id)
    limit_minor = validation.amount_minor(limit, distributor.currency)
    if limit_minor < 0:
        raise InvalidAmount("a limit cannot be negative")
    validation.text(reason, "reason")
    reseller = require_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller.status == "terminated":
        raise ResellerTerminated(f"reseller {reseller_id!r} is terminated")
    lines = repo.lines_of(session, distributor_id, reseller_id)
    base = _base_line(lines)
    if base.limit_minor != limit_minor:
        now = clock.now()
        journal.append(
            session,
            reseller,
            kind="limit_set",
            actor=actor,
            at=now,
            reason=reason,
            line_id=base.id,
            limit_after_minor=limit_minor,
            details={"before_minor": base.limit_minor},
        )
        before_minor, base.limit_minor = base.limit_minor, limit_minor
        ledger_events.limit_changed(
            session, reseller, lines=lines, base=base, before_minor=before_minor, reason=reason, at=now
        )
        reseller.updated_at = now
        if limit_minor > before_minor:
            release_held_orders(session, reseller, actor=actor, cause="limit_raised", at=now, lines=lines)
    session.flush()
    return base


def place_hold(session: Session, *, distributor_id: str, reseller_id: str, reason: str, actor: str) -> Reseller:
    return _set_status(
        session,
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        target="on_hold",
        kind="hold_placed",
        reason=reason,
        actor=actor,
    )


def lift_hold(session: Session, *, distributor_id: str, reseller_id: str, reason: str, actor: str) -> Reseller:
    return _set_status(
        session,
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        target="active",
        kind="hold_lifted",
        reason=reason,
        actor=actor,
    )


def _set_status(
    session: Session, *, distributor_id: str, reseller_id: str, target: str, kind: str, reason: str, actor: str
) -> Reseller:
    require_distributor(session, distributor_id)
    validation.text(reason, "reason")
    reseller = require_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller.status == "terminated":
        raise ResellerTerminated(f"reseller {reseller_id!r} is terminated; termination is final")
    if reseller.status != target:
        now = clock.now()
        journal.append(session, reseller, kind=kind, actor=actor, at=now, reason=reason, status_after=target)
        ledger_events.status_changed(session, reseller, kind=kind, reason=reason, at=now)
        reseller.status = target
        reseller.status_reason = reason if target == "on_hold" else None
        reseller.updated_at = now
        session.flush()
        if target == "active":
            release_held_orders(session, reseller, actor=actor, cause="hold_lifted", at=now)
    return reseller


def terminate(session: Session, *, distributor_id: str, reseller_id: str, reason: str, actor: str) -> Reseller:
    """Final: refuses drawings and grants from now on, revokes every programme line at once.

    What is still drawn on a revoked line follows its ``on_expiry`` rule, as if it had expired.
    Repeating a termination changes nothing.
    """
    require_distributor(session, distributor_id)
    validation.text(reason, "reason")
    reseller = require_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller.status == "terminated":
        return reseller
    now = clock.now()
    journal.append(
        session, reseller, kind="reseller_terminated", actor=actor, at=now, reason=reason, status_after="terminated"
    )
    ledger_events.status_changed(session, reseller, kind="reseller_terminated", reason=reason, at=now)
    reseller.status = "terminated"
    reseller.status_reason = reason
    reseller.updated_at = now
    lines = repo.lines_of(session, distributor_id, reseller_id)
    base = _base_line(lines)
    close_lines(
        session,
        distributor_id=distributor_id,
        bases={reseller.id: base},
        status="revoked",
        at=now,
        actor=actor,
        reason=lambda _line: reason,
        closing=[(reseller, line) for line in lines if line.kind == "programme" and line.status == "active"],
    )
    return reseller


def reseller_summary(session: Session, *, distributor_id: str, reseller_id: str) -> ResellerSummary:
    distributor = require_distributor(session, distributor_id)
    reseller, rows = current_state(session, distributor_id, reseller_id)
    day = clock.local_today(distributor.timezone)
    overdue = terms.overdue_now(session, distributor_id, reseller_id, day)
    return ResellerSummary(
        reseller,
        distributor.currency,
        elig.totals([r.state() for r in rows], day),
        overdue.amount_minor,
        overdue.oldest_days,
    )


def list_resellers(
    session: Session,
    *,
    distributor_id: str,
    after: str | None,
    limit: int,
    status: str | None = None,
    over_limit: bool | None = None,
) -> list[ResellerSummary]:
    """A page of resellers (by id) with their totals; filters apply before paging."""
    distributor = require_distributor(session, distributor_id)
    day = clock.local_today(distributor.timezone)
    resellers = repo.list_resellers_filtered(
        session, distributor_id, day=day, after_id=after, limit=limit, status=status, over_limit=over_limit
    )
    lines: dict[str, list[elig.LineState]] = {}
    for row in repo.lines_of_many(session, distributor_id, [r.id for r in resellers]):
        lines.setdefault(row.reseller_id, []).append(row.state())
    overdue = terms.overdue_by_reseller(session, distributor_id, [r.id for r in resellers], day)
    none = terms.Overdue(0, None)
    return [
        ResellerSummary(
            r,
            distributor.currency,
            elig.totals(lines.get(r.id, []), day),
            overdue.get(r.id, none).amount_minor,
            overdue.get(r.id, none).oldest_days,
        )
        for r in resellers
    ]


def import_resellers(
    session: Session,
    *,
    distributor_id: str,
    rows: list[tuple[str, str, Money]],
    actor: str,
    reason: str = "initial import",
) -> int:
    """Onboard many resellers at once (a distributor's customer base): each gets what
    :func:`upsert_reseller` and :func:`set_base_limit` would give it — the reseller, its base
    line and the same ledger entries — written in one flush. Existing ids are left alone.
    Returns how many were created."""
    distributor = require_distributor(session, distributor_id)
    ids = [r for r, _, _ in rows]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("a reseller id appears twice in the import")
    existing = {r.id for r in repo.resellers_by_ids(session, distributor_id, ids)}
    now = clock.now()
    day = clock.local_date(now, distributor.timezone)
    objects: list[Reseller | Line] = []
    entries: list[dict[str, Any]] = []
    for reseller_id, name, limit in rows:
        if reseller_id in existing:
            continue
        validation.identifier(reseller_id, "reseller id")
        validation.text(name, "name", max_length=200)
        limit_minor = validation.amount_minor(limit, distributor.currency)
        if limit_minor < 0:
            raise InvalidAmount("a limit cannot be negative")
        line_id = str(uuid.uuid4())
        objects.append(
            Reseller(
                distributor_id=distributor_id,
                id=reseller_id,
                name=name,
                status="active",
                ledger_seq=3 if limit_minor else 2,
                created_at=now,
                updated_at=now,
            )
        )
        objects.append(
            Line(
                distributor_id=distributor_id,
                id=line_id,
                reseller_id=reseller_id,
                kind="base",
                funder=distributor_id,
                limit_minor=limit_minor,
                drawn_minor=0,
                valid_from=day,
                valid_until=None,
                usable_for="any",
                on_expiry=None,
                status="active",
                granted_at=now,
                grant_seq=2,
            )
        )
        row = functools.partial(journal.entry_row, distributor_id, reseller_id, at=now, actor=actor)
        entries.append(row(1, kind="reseller_created", status_after="active", details={"name": name}))
        entries.append(
            row(
                2,
                kind="line_opened",
                line_id=line_id,
                limit_after_minor=0,
                status_after="active",
                drawn_delta_minor=0,
                details={"kind": "base", "funder": distributor_id},
            )
        )
        if limit_minor:
            entries.append(
                row(
                    3,
                    kind="limit_set",
                    reason=reason,
                    line_id=line_id,
                    limit_after_minor=limit_minor,
                    details={"before_minor": 0},
                )
            )
    resellers = [o for o in objects if isinstance(o, Reseller)]
    session.add_all(resellers)
    session.flush()  # resellers before the rows that reference them
    session.add_all([o for o in objects if not isinstance(o, Reseller)])
    session.flush()
    journal.insert_rows(session.connection(), entries)
    ledger_events.resellers_imported(
        session,
        distributor_id=distributor_id,
        at=now,
        reason=reason,
        rows=[(r, n, validation.amount_minor(m, distributor.currency)) for r, n, m in rows if r not in existing],
    )
    return len(resellers)

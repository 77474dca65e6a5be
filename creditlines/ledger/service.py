"""Ledger services: the operations of SPEC §4, §6 and §7.

Services take the session first and keyword-only arguments after it. They flush, never
commit: the request or the job owns the transaction. Every write path locks the reseller
first, so that all effects on one reseller are serialised and a balance can never be read,
checked and written by two transactions at once.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from moneyed import Money
from sqlalchemy import text
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines import eligibility as elig
from creditlines.db.engine import is_postgresql
from creditlines.errors import (
    AccountOnHold,
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientCredit,
    InvalidAmount,
    NotFound,
    ReleaseExceedsOutstanding,
    ResellerTerminated,
    ValidationFailed,
)
from creditlines.events import ledger_events
from creditlines.ledger import repository as repo
from creditlines.ledger.fold import fold
from creditlines.ledger.models import (
    ON_EXPIRY,
    RELEASE_KINDS,
    USABLE_FOR,
    Allocation,
    Drawing,
    LedgerEntry,
    Line,
    Release,
    Reseller,
)
from creditlines.money import from_minor, to_minor

# ---------------------------------------------------------------------------- views


@dataclass(frozen=True)
class LineView:
    id: str
    kind: str
    programme_id: str | None
    vendor_id: str | None
    funder: str
    limit: Money
    drawn: Money
    available: Money
    valid_from: date
    valid_until: date | None
    status: str
    usable_for: str
    on_expiry: str | None


@dataclass(frozen=True)
class AvailabilityView:
    distributor_id: str
    reseller_id: str
    status: str
    as_of: datetime
    currency: str
    lines: list[LineView]
    total_limit: Money
    total_drawn: Money
    total_available: Money
    over_limit: bool


@dataclass(frozen=True)
class PlanItemView:
    line_id: str
    kind: str
    funder: str
    amount: Money


@dataclass(frozen=True)
class DecisionView:
    eligible: bool
    requested: Money
    available: Money
    shortfall: Money
    plan: list[PlanItemView]
    reasons: list[elig.Reason]


@dataclass(frozen=True)
class AllocationView:
    line_id: str
    funder: str
    amount: Money
    outstanding: Money


@dataclass(frozen=True)
class DrawingView:
    reference: str
    amount: Money
    outstanding: Money
    status: str
    vendor_id: str | None
    allocations: list[AllocationView]
    created_at: datetime


# ---------------------------------------------------------------------------- helpers


def require_distributor(session: Session, distributor_id: str) -> repo.DistributorInfo:
    distributor = repo.get_distributor(session, distributor_id)
    if distributor is None:
        raise NotFound(f"distributor {distributor_id!r} does not exist")
    return distributor


def _require_reseller(session: Session, distributor_id: str, reseller_id: str, *, lock: bool) -> Reseller:
    reseller = repo.get_reseller(session, distributor_id, reseller_id, lock=lock)
    if reseller is None:
        raise NotFound(f"reseller {reseller_id!r} does not exist at {distributor_id!r}")
    return reseller


def _entry(
    session: Session,
    reseller: Reseller,
    *,
    kind: str,
    actor: str,
    at: datetime,
    reason: str | None = None,
    line_id: str | None = None,
    drawing_reference: str | None = None,
    release_reference: str | None = None,
    amount_minor: int | None = None,
    drawn_delta_minor: int | None = None,
    limit_after_minor: int | None = None,
    valid_until_after: date | None = None,
    status_after: str | None = None,
    details: dict | None = None,
) -> LedgerEntry:
    """Append one ledger entry; the reseller must be locked by the caller."""
    reseller.ledger_seq += 1
    entry = LedgerEntry(
        distributor_id=reseller.distributor_id,
        reseller_id=reseller.id,
        seq=reseller.ledger_seq,
        at=at,
        actor=actor,
        kind=kind,
        reason=reason,
        line_id=line_id,
        drawing_reference=drawing_reference,
        release_reference=release_reference,
        amount_minor=amount_minor,
        drawn_delta_minor=drawn_delta_minor,
        limit_after_minor=limit_after_minor,
        valid_until_after=valid_until_after,
        status_after=status_after,
        details=json.dumps(details, sort_keys=True) if details else None,
    )
    session.add(entry)
    return entry


def line_state(line: Line) -> elig.LineState:
    return elig.LineState(
        id=line.id,
        kind=line.kind,
        funder=line.funder,
        programme_id=line.programme_id,
        vendor_id=line.vendor_id,
        usable_for=line.usable_for,
        on_expiry=line.on_expiry,
        status=line.status,
        limit=line.limit_minor,
        drawn=line.drawn_minor,
        valid_from=line.valid_from,
        valid_until=line.valid_until,
        grant_seq=line.grant_seq,
        granted_at=line.granted_at,
    )


def _money(minor: int, currency: str) -> Money:
    return from_minor(minor, currency)


def _check_currency(money: Money, distributor: repo.DistributorInfo) -> int:
    if money.currency.code != distributor.currency:
        raise CurrencyMismatch(
            f"currency {money.currency.code} is not this distributor's currency {distributor.currency}",
            expected=distributor.currency,
        )
    return to_minor(money)


def _text(value: str | None, field: str, *, max_length: int = 500, required: bool = True) -> str | None:
    if not required and (value is None or not value.strip()):
        return None
    return validation.text(value, field, max_length=max_length)


def _identifier(value: str, field: str) -> str:
    return validation.identifier(value, field)


# ---------------------------------------------------------------------------- resellers


def upsert_reseller(
    session: Session, *, distributor_id: str, reseller_id: str, name: str, actor: str
) -> tuple[Reseller, bool]:
    """Create a reseller (with its base line, limit 0) or rename it. Returns (reseller, created)."""
    distributor = require_distributor(session, distributor_id)
    _identifier(reseller_id, "reseller id")
    _text(name, "name", max_length=200)
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
    reseller = _require_reseller(session, distributor_id, reseller_id, lock=True)
    if created:
        _entry(
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
        _entry(
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
        _entry(
            session, reseller, kind="reseller_renamed", actor=actor, at=now, details={"from": reseller.name, "to": name}
        )
        reseller.name = name
        reseller.updated_at = now
    session.flush()
    return reseller, created


def get_reseller(session: Session, *, distributor_id: str, reseller_id: str) -> Reseller:
    require_distributor(session, distributor_id)
    return _require_reseller(session, distributor_id, reseller_id, lock=False)


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
    limit_minor = _check_currency(limit, distributor)
    if limit_minor < 0:
        raise InvalidAmount("a limit cannot be negative")
    _text(reason, "reason")
    reseller = _require_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller.status == "terminated":
        raise ResellerTerminated(f"reseller {reseller_id!r} is terminated")
    lines = repo.lines_of(session, distributor_id, reseller_id)
    base = _base_line(lines)
    if base.limit_minor != limit_minor:
        now = clock.now()
        _entry(
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
    _text(reason, "reason")
    reseller = _require_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller.status == "terminated":
        raise ResellerTerminated(f"reseller {reseller_id!r} is terminated; termination is final")
    if reseller.status != target:
        now = clock.now()
        _entry(session, reseller, kind=kind, actor=actor, at=now, reason=reason, status_after=target)
        ledger_events.status_changed(session, reseller, kind=kind, reason=reason, at=now)
        reseller.status = target
        reseller.status_reason = reason if target == "on_hold" else None
        reseller.updated_at = now
        session.flush()
    return reseller


def terminate(session: Session, *, distributor_id: str, reseller_id: str, reason: str, actor: str) -> Reseller:
    """Final: refuses drawings and grants from now on, revokes every programme line at once.

    What is still drawn on a revoked line follows its ``on_expiry`` rule, as if it had expired.
    Repeating a termination changes nothing.
    """
    require_distributor(session, distributor_id)
    _text(reason, "reason")
    reseller = _require_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller.status == "terminated":
        return reseller
    now = clock.now()
    _entry(session, reseller, kind="reseller_terminated", actor=actor, at=now, reason=reason, status_after="terminated")
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


def close_lines(
    session: Session,
    *,
    distributor_id: str,
    closing: list[tuple[Reseller, Line]],
    bases: dict[str, Line],
    status: str,
    at: datetime,
    actor: str,
    reason,
) -> dict[str, int]:
    """Expire or revoke programme lines of *locked* resellers and apply their ``on_expiry``.

    ``transfer_to_base`` moves what is still drawn, allocation by allocation, to the reseller's
    base line (which may leave it over limit); ``run_off`` leaves it on the closed line, owed
    under the vendor's guarantee until released. Decisions are made here in Python; the writes
    are set-wise (a few statements for the whole batch), so the nightly job's cost is in the
    lines that end, not in round trips. ``reason(line)`` gives each line's ledger reason.
    Returns the minor units moved to base, per reseller id.
    """
    from sqlalchemy import bindparam, case, insert, select, update

    from creditlines.db import bulk

    if not closing:
        return {}
    session.flush()  # the caller's pending changes (e.g. the termination itself) first
    d = distributor_id
    conn = session.connection()  # Core on the session's transaction: no ORM objects, true executemany
    moving = [line for _, line in closing if line.on_expiry == "transfer_to_base" and line.drawn_minor > 0]
    moving_set = {line.id for line in moving}
    open_allocs: dict[str, list[tuple[str, int]]] = {}
    for i in range(0, len(moving), 1000):
        ids = [line.id for line in moving[i : i + 1000]]
        for line_id, ref, outstanding in conn.execute(
            select(Allocation.line_id, Allocation.drawing_reference, Allocation.outstanding_minor).where(
                Allocation.distributor_id == d,
                bulk.one_of(Allocation.line_id, ids, conn),
                Allocation.outstanding_minor > 0,
            )
        ):
            open_allocs.setdefault(line_id, []).append((ref, outstanding))
    base_ids = [bases[r.id].id for r, line in closing if line.id in moving_set]
    refs = sorted({ref for allocs in open_allocs.values() for ref, _ in allocs})
    existing_base: set[tuple[str, str]] = set()
    for i in range(0, len(refs), 1000):
        existing_base |= set(
            conn.execute(
                select(Allocation.line_id, Allocation.drawing_reference).where(
                    Allocation.distributor_id == d,
                    bulk.one_of(Allocation.line_id, base_ids, conn),
                    bulk.one_of(Allocation.drawing_reference, refs[i : i + 1000], conn),
                )
            ).all()
        )

    seq = {reseller.id: reseller.ledger_seq for reseller, _ in closing}
    entries: list[dict] = []
    base_alloc_add: dict[tuple[str, str, str], int] = {}  # (reseller, base line, drawing) -> amount
    moved: dict[str, int] = {}

    def entry(reseller_id: str, **values) -> None:
        seq[reseller_id] += 1
        entries.append(
            {
                "distributor_id": d,
                "reseller_id": reseller_id,
                "seq": seq[reseller_id],
                "at": at,
                "actor": actor,
                "kind": None,
                "reason": None,
                "line_id": None,
                "drawing_reference": None,
                "release_reference": None,
                "amount_minor": None,
                "drawn_delta_minor": None,
                "limit_after_minor": None,
                "valid_until_after": None,
                "status_after": None,
                "details": None,
                **values,
            }
        )

    for reseller, line in closing:
        assert line.kind == "programme" and line.status == "active"
        why = reason(line)
        entry(
            reseller.id,
            kind=f"line_{status}",
            reason=why,
            line_id=line.id,
            status_after=status,
            details=json.dumps({"on_expiry": line.on_expiry}, sort_keys=True),
        )
        if line.id in moving_set:
            base = bases[reseller.id]
            allocs = open_allocs.get(line.id, [])
            total = sum(amount for _, amount in allocs)
            if total != line.drawn_minor:  # verify would report it too; never move money on a mismatch
                raise RuntimeError(f"line {line.id}: allocations ({total}) disagree with drawn ({line.drawn_minor})")
            for ref, amount in allocs:
                key = (reseller.id, base.id, ref)
                base_alloc_add[key] = base_alloc_add.get(key, 0) + amount
                entry(
                    reseller.id,
                    kind="drawn_transferred_out",
                    reason=why,
                    line_id=line.id,
                    drawing_reference=ref,
                    drawn_delta_minor=-amount,
                    details=json.dumps({"to_line": base.id}),
                )
                entry(
                    reseller.id,
                    kind="drawn_transferred_in",
                    reason=why,
                    line_id=base.id,
                    drawing_reference=ref,
                    drawn_delta_minor=amount,
                    details=json.dumps({"from_line": line.id}),
                )
            moved[reseller.id] = moved.get(reseller.id, 0) + total

    line_table, alloc_table = Line.__table__, Allocation.__table__
    closing_ids = [line.id for _, line in closing]
    for i in range(0, len(closing_ids), 1000):
        chunk = closing_ids[i : i + 1000]
        moving_chunk = [line_id for line_id in chunk if line_id in moving_set]
        conn.execute(  # one new version of each closing line: status, and drawn to 0 if it moves
            update(line_table)
            .where(line_table.c.distributor_id == d, bulk.one_of(line_table.c.id, chunk, conn))
            .values(
                status=status,
                closed_at=at,
                drawn_minor=case((bulk.one_of(line_table.c.id, moving_chunk, conn), 0), else_=line_table.c.drawn_minor),
            )
        )
    moving_ids = [line.id for line in moving]
    for i in range(0, len(moving_ids), 1000):
        chunk = moving_ids[i : i + 1000]
        conn.execute(
            update(alloc_table)
            .where(
                alloc_table.c.distributor_id == d,
                bulk.one_of(alloc_table.c.line_id, chunk, conn),
                alloc_table.c.outstanding_minor > 0,
            )
            .values(outstanding_minor=0)
        )
    to_update = [
        {"d": d, "r": r, "l": b, "ref": ref, "amount": a}
        for (r, b, ref), a in base_alloc_add.items()
        if (b, ref) in existing_base
    ]
    to_insert = [
        {
            "distributor_id": d,
            "reseller_id": r,
            "drawing_reference": ref,
            "line_id": b,
            "funder": bases[r].funder,
            "amount_minor": 0,
            "outstanding_minor": a,
            "position": 0,
        }
        for (r, b, ref), a in base_alloc_add.items()
        if (b, ref) not in existing_base
    ]
    seqs = [{"d": d, "r": r, "s": s} for r, s in seq.items()]
    base_moves = [{"d": d, "l": bases[r].id, "amount": a} for r, a in moved.items()]
    if bulk.usable(conn):  # PostgreSQL: one statement each for the same rows (a test compares both)
        _close_lines_set_based(session, to_update, to_insert, base_moves, entries, seqs)
    else:
        if to_update:
            conn.execute(
                update(alloc_table)
                .where(
                    alloc_table.c.distributor_id == bindparam("d"),
                    alloc_table.c.reseller_id == bindparam("r"),
                    alloc_table.c.drawing_reference == bindparam("ref"),
                    alloc_table.c.line_id == bindparam("l"),
                )
                .values(outstanding_minor=alloc_table.c.outstanding_minor + bindparam("amount")),
                to_update,
            )
        if to_insert:
            conn.execute(insert(alloc_table), to_insert)
        if base_moves:
            conn.execute(
                update(line_table)
                .where(line_table.c.distributor_id == bindparam("d"), line_table.c.id == bindparam("l"))
                .values(drawn_minor=line_table.c.drawn_minor + bindparam("amount")),
                base_moves,
            )
        conn.execute(insert(LedgerEntry.__table__), entries)
        reseller_table = Reseller.__table__
        conn.execute(
            update(reseller_table)
            .where(reseller_table.c.distributor_id == bindparam("d"), reseller_table.c.id == bindparam("r"))
            .values(ledger_seq=bindparam("s")),
            seqs,
        )
    ledger_events.lines_closed(session, distributor_id=d, closing=closing, status=status, at=at, moving=moving_set)
    # The ORM objects the caller holds are stale now: refresh them on next access (collect
    # first: reading an expired object's id would reload it).
    # The nightly job passes plain rows (Core), which hold nothing to refresh.
    stale = {obj for reseller, line in closing for obj in (reseller, line, bases[reseller.id]) if not _row(obj)}
    for obj in stale:
        session.expire(obj)
    return moved


def _row(obj: object) -> bool:
    from sqlalchemy import Row

    return isinstance(obj, Row)  # a Core row (the nightly job's), not an ORM object


def _close_lines_set_based(
    session: Session,
    to_update: list[dict[str, object]],
    to_insert: list[dict[str, object]],
    base_moves: list[dict[str, object]],
    entries: list[dict[str, object]],
    seqs: list[dict[str, object]],
) -> None:
    """The writes of :func:`close_lines` on PostgreSQL: the rows its ``executemany`` writes, each
    table in one statement (``creditlines.db.bulk``), in the same order."""
    from creditlines.db import bulk

    conn = session.connection()
    alloc_table, line_table = Allocation.__table__, Line.__table__
    bulk.update_rows(
        conn,
        alloc_table,
        [
            {"distributor_id": u["d"], "reseller_id": u["r"], "drawing_reference": u["ref"], "line_id": u["l"]}
            | {"outstanding_minor": u["amount"]}
            for u in to_update
        ],
        keys=["distributor_id", "reseller_id", "drawing_reference", "line_id"],
        add=("outstanding_minor",),
    )
    bulk.insert_rows(conn, alloc_table, to_insert)
    bulk.update_rows(
        conn,
        line_table,
        [{"distributor_id": m["d"], "id": m["l"], "drawn_minor": m["amount"]} for m in base_moves],
        keys=["distributor_id", "id"],
        add=("drawn_minor",),
    )
    bulk.insert_rows(conn, LedgerEntry.__table__, entries)
    bulk.update_rows(
        conn,
        Reseller.__table__,
        [{"distributor_id": s["d"], "id": s["r"], "ledger_seq": s["s"]} for s in seqs],
        keys=["distributor_id", "id"],
        set_=("ledger_seq",),
    )


def grant_programme_line(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    vendor_id: str,
    programme_id: str | None,
    limit: Money,
    valid_until: date,
    usable_for: str = "any",
    on_expiry: str = "transfer_to_base",
    actor: str,
    reason: str | None = None,
    valid_from: date | None = None,
    reseller: Reseller | None = None,
) -> Line:
    """Open a vendor-funded line for a reseller (the programmes build on this)."""
    distributor = require_distributor(session, distributor_id)
    if repo.get_vendor(session, vendor_id) is None:
        raise NotFound(f"vendor {vendor_id!r} does not exist")
    if usable_for not in USABLE_FOR:
        raise ValidationFailed(f"usable_for must be one of {', '.join(USABLE_FOR)}")
    if on_expiry not in ON_EXPIRY:
        raise ValidationFailed(f"on_expiry must be one of {', '.join(ON_EXPIRY)}")
    limit_minor = _check_currency(limit, distributor)
    if limit_minor <= 0:
        raise InvalidAmount("a programme line's limit must be positive")
    if reseller is None:
        reseller = _require_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller.status == "terminated":
        raise ResellerTerminated(f"reseller {reseller_id!r} is terminated")
    now = clock.now()
    start = valid_from or clock.local_date(now, distributor.timezone)
    if valid_until < start:
        raise ValidationFailed("valid_until is before the line starts")
    line = Line(
        distributor_id=distributor_id,
        id=str(uuid.uuid4()),
        reseller_id=reseller_id,
        kind="programme",
        programme_id=programme_id,
        vendor_id=vendor_id,
        funder=vendor_id,
        limit_minor=limit_minor,
        drawn_minor=0,
        valid_from=start,
        valid_until=valid_until,
        usable_for=usable_for,
        on_expiry=on_expiry,
        status="active",
        granted_at=now,
        grant_seq=reseller.ledger_seq + 1,
    )
    session.add(line)
    _entry(
        session,
        reseller,
        kind="line_opened",
        actor=actor,
        at=now,
        reason=reason,
        line_id=line.id,
        limit_after_minor=limit_minor,
        valid_until_after=valid_until,
        status_after="active",
        drawn_delta_minor=0,
        details={
            "kind": "programme",
            "funder": vendor_id,
            "programme_id": programme_id,
            "usable_for": usable_for,
            "on_expiry": on_expiry,
            "valid_from": start.isoformat(),
        },
    )
    ledger_events.line_granted(session, reseller, line, at=now)
    reseller.updated_at = now
    session.flush()
    return line


def extend_line(
    session: Session, *, reseller: Reseller, line: Line, valid_until: date, actor: str, reason: str | None
) -> Line:
    """Move a programme line's end date (extension or a programme's new ``ends_on``)."""
    if line.valid_until != valid_until:
        _entry(
            session,
            reseller,
            kind="line_valid_until_set",
            actor=actor,
            at=clock.now(),
            reason=reason,
            line_id=line.id,
            valid_until_after=valid_until,
            details={"before": line.valid_until.isoformat() if line.valid_until else None},
        )
        before, line.valid_until = line.valid_until, valid_until
        ledger_events.line_extended(session, reseller, line, before=before, at=clock.now())
        session.flush()
    return line


# ---------------------------------------------------------------------------- availability


def _fold_as_of(
    session: Session, distributor_id: str, reseller_id: str, at: datetime
) -> tuple[str | None, list[elig.LineState]]:
    """The reseller's status and lines as the ledger stood at instant ``at``."""
    statics = {line.id: line for line in repo.lines_of(session, distributor_id, reseller_id)}
    folded = fold(repo.entries_of(session, distributor_id, reseller_id, until=at))
    lines = []
    for line_id, state in folded.lines.items():
        static = statics[line_id]
        lines.append(
            elig.LineState(
                id=line_id,
                kind=static.kind,
                funder=static.funder,
                programme_id=static.programme_id,
                vendor_id=static.vendor_id,
                usable_for=static.usable_for,
                on_expiry=static.on_expiry,
                status=state.status or "active",
                limit=state.limit or 0,
                drawn=state.drawn,
                valid_from=static.valid_from,
                valid_until=state.valid_until,
                grant_seq=static.grant_seq,
                granted_at=static.granted_at,
            )
        )
    lines.sort(key=lambda s: s.grant_seq)
    return folded.status, lines


def _current_state(session: Session, distributor_id: str, reseller_id: str) -> tuple[Reseller, list[Line]]:
    """The reseller and its lines, read together (no lock: the read paths)."""
    reseller, lines = repo.reseller_with_lines(session, distributor_id, reseller_id)
    if reseller is None:
        raise NotFound(f"reseller {reseller_id!r} does not exist at {distributor_id!r}")
    return reseller, lines


def availability(
    session: Session, *, distributor_id: str, reseller_id: str, as_of: datetime | None = None
) -> AvailabilityView:
    """Lines and totals. A past ``as_of`` reads the ledger as it stood; a future one projects."""
    distributor = require_distributor(session, distributor_id)
    now = clock.now()
    at = as_of or now
    reseller, rows = _current_state(session, distributor_id, reseller_id)
    if at < now:
        status, states = _fold_as_of(session, distributor_id, reseller_id, at)
        if status is None:
            raise NotFound(f"reseller {reseller_id!r} did not exist at {at.isoformat()}")
    else:
        status, states = reseller.status, [line_state(row) for row in rows]
    day = clock.local_date(at, distributor.timezone)
    effective = elig.effective_lines(states, day)
    totals = elig.totals(states, day)
    cur = distributor.currency
    shown = [s for s in effective if s.status == "active" or s.drawn > 0]
    shown.sort(key=elig.waterfall_key)
    return AvailabilityView(
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        status=status,
        as_of=at,
        currency=cur,
        lines=[
            LineView(
                id=s.id,
                kind=s.kind,
                programme_id=s.programme_id,
                vendor_id=s.vendor_id,
                funder=s.funder,
                limit=_money(s.limit, cur),
                drawn=_money(s.drawn, cur),
                available=_money(s.available, cur),
                valid_from=s.valid_from,
                valid_until=s.valid_until,
                status=s.status if s.status != "active" or elig.is_current(s, day) else "pending",
                usable_for=s.usable_for,
                on_expiry=s.on_expiry,
            )
            for s in shown
        ],
        total_limit=_money(totals.limit, cur),
        total_drawn=_money(totals.drawn, cur),
        total_available=_money(totals.available, cur),
        over_limit=totals.over_limit,
    )


def _decision_view(decision: elig.Decision, currency: str) -> DecisionView:
    return DecisionView(
        eligible=decision.eligible,
        requested=_money(decision.requested, currency),
        available=_money(decision.available, currency),
        shortfall=_money(decision.shortfall, currency),
        plan=[PlanItemView(p.line_id, p.kind, p.funder, _money(p.amount, currency)) for p in decision.plan],
        reasons=list(decision.reasons),
    )


def decide_now(
    distributor: repo.DistributorInfo,
    reseller_status: str,
    states: list[elig.LineState],
    *,
    amount_minor: int,
    vendor_id: str | None,
) -> elig.Decision:
    """The eligibility decision on the distributor's local date, now."""
    return elig.decide(
        states,
        amount=amount_minor,
        vendor_id=vendor_id,
        day=clock.local_today(distributor.timezone),
        reseller_status=reseller_status,
    )


def check_eligibility(
    session: Session, *, distributor_id: str, reseller_id: str, amount: Money, vendor_id: str | None = None
) -> DecisionView:
    """Would this order be accepted now? Posts nothing; reads the reseller and its lines.
    (The HTTP route reads the same rows through ``db.hot`` and calls ``decide_now``.)"""
    distributor = require_distributor(session, distributor_id)
    amount_minor = _check_currency(amount, distributor)
    reseller, rows = _current_state(session, distributor_id, reseller_id)
    decision = decide_now(
        distributor, reseller.status, [line_state(row) for row in rows], amount_minor=amount_minor, vendor_id=vendor_id
    )
    return _decision_view(decision, distributor.currency)


# ---------------------------------------------------------------------------- drawings


def _drawing_view(
    session: Session, drawing: Drawing, currency: str, allocations: list[Allocation] | None = None
) -> DrawingView:
    if allocations is None:
        allocations = repo.allocations_of(session, drawing.distributor_id, drawing.reseller_id, [drawing.reference])
    return DrawingView(
        reference=drawing.reference,
        amount=_money(drawing.amount_minor, currency),
        outstanding=_money(drawing.outstanding_minor, currency),
        status=drawing.status,
        vendor_id=drawing.vendor_id,
        allocations=[
            AllocationView(a.line_id, a.funder, _money(a.amount_minor, currency), _money(a.outstanding_minor, currency))
            for a in sorted(allocations, key=lambda a: a.position)
        ],
        created_at=drawing.created_at,
    )


DRAW_SQL = "SELECT creditlines_draw(:d, :r, :reference, :amount, :vendor, :actor, :now, :day)"
DRAW_PG = re.sub(r":(\w+)", r"%(\1)s", DRAW_SQL)  # the same call in psycopg's parameter style (the hot path)


def draw_amount(distributor: repo.DistributorInfo, reference: str, amount: Money) -> int:
    """What a drawing request must be before anything is read: its amount in minor units."""
    validation.reference(reference)
    amount_minor = _check_currency(amount, distributor)
    if amount_minor <= 0:
        raise InvalidAmount("amount must be positive")
    return amount_minor


def draw_params(
    distributor: repo.DistributorInfo,
    *,
    reseller_id: str,
    reference: str,
    amount_minor: int,
    vendor_id: str | None,
    actor: str,
) -> dict:
    """The arguments of ``creditlines_draw`` (migration 0002), the instant and local date included."""
    now = clock.now()
    return {
        "d": distributor.id,
        "r": reseller_id,
        "reference": reference,
        "amount": amount_minor,
        "vendor": vendor_id,
        "actor": actor,
        "now": now.astimezone(UTC).replace(tzinfo=None),
        "day": clock.local_date(now, distributor.timezone),
    }


def drawing_outcome(
    result: dict, distributor: repo.DistributorInfo, *, reseller_id: str, reference: str, amount_minor: int
) -> tuple[DrawingView, bool]:
    """The answer of a drawing, from the outcome both implementations return (a refusal raises)."""
    outcome, cur = result["outcome"], distributor.currency
    if outcome == "not_found":
        raise NotFound(f"reseller {reseller_id!r} does not exist at {distributor.id!r}")
    if outcome == "idempotency_conflict":
        raise IdempotencyConflict(f"drawing {reference!r} was already posted with a different amount or vendor")
    if outcome == "reseller_terminated":
        raise ResellerTerminated(f"reseller {reseller_id!r} is terminated")
    if outcome == "account_on_hold":
        raise AccountOnHold(f"reseller {reseller_id!r} is on hold")
    if outcome == "insufficient_credit":
        raise InsufficientCredit(
            f"{reference}: requested {from_minor(amount_minor, cur).amount} {cur}, "
            f"available {from_minor(result['available'], cur).amount} {cur}",
            available=_money(result["available"], cur),
            shortfall=_money(result["shortfall"], cur),
        )
    created_at = result["created_at"]
    if isinstance(created_at, str):
        created_at = datetime.fromisoformat(created_at)
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    view = DrawingView(
        reference=reference,
        amount=_money(result["amount"], cur),
        outstanding=_money(result["outstanding"], cur),
        status=result["status"],
        vendor_id=result["vendor_id"],
        created_at=created_at,
        allocations=[
            AllocationView(line_id, funder, _money(amount, cur), _money(outstanding, cur))
            for line_id, funder, amount, outstanding in result["allocations"]
        ],
    )
    return view, outcome == "created"


def draw(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    reference: str,
    amount: Money,
    vendor_id: str | None = None,
    actor: str,
) -> tuple[DrawingView, bool]:
    """Post a drawing: allocate it down the waterfall. Returns (drawing, created).

    The same reference with the same body returns the stored drawing (created False);
    with a different body it is an ``idempotency_conflict``. A refused drawing stores
    nothing, so the ERP may retry the reference once credit is freed.

    PostgreSQL posts it in one statement, ``creditlines_draw`` (migration 0002), so the
    reseller's lock is held for a few statements inside the server; SQLite (and the
    reference model of the tests) runs ``_draw_in_python``. Both return the same outcome.
    """
    result, distributor, amount_minor = draw_result(
        session,
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        reference=reference,
        amount=amount,
        vendor_id=vendor_id,
        actor=actor,
    )
    return drawing_outcome(result, distributor, reseller_id=reseller_id, reference=reference, amount_minor=amount_minor)


def draw_result(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    reference: str,
    amount: Money,
    vendor_id: str | None = None,
    actor: str,
) -> tuple[dict, repo.DistributorInfo, int]:
    """:func:`draw` without raising a refusal: (outcome, distributor, amount in minor units). A
    refusal's ``drawing.refused`` event is in the session's transaction: commit it, then raise
    with :func:`drawing_outcome` (the HTTP route does; PostgreSQL's hot path commits it with
    the statement)."""
    distributor = require_distributor(session, distributor_id)
    amount_minor = draw_amount(distributor, reference, amount)
    if is_postgresql(session):
        params = draw_params(
            distributor,
            reseller_id=reseller_id,
            reference=reference,
            amount_minor=amount_minor,
            vendor_id=vendor_id,
            actor=actor,
        )
        result = session.execute(text(DRAW_SQL), params).scalar_one()
        session.expire_all()  # the function changed rows this session may hold
    else:
        result = _draw_in_python(
            session,
            distributor,
            reseller_id=reseller_id,
            reference=reference,
            amount_minor=amount_minor,
            vendor_id=vendor_id,
            actor=actor,
        )
        ledger_events.after_draw(
            session,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            reference=reference,
            amount_minor=amount_minor,
            vendor_id=vendor_id,
            result=result,
        )
    return result, distributor, amount_minor


def _drawing_result(outcome: str, drawing: Drawing, allocations: list[Allocation]) -> dict:
    return {
        "outcome": outcome,
        "amount": drawing.amount_minor,
        "outstanding": drawing.outstanding_minor,
        "status": drawing.status,
        "vendor_id": drawing.vendor_id,
        "created_at": drawing.created_at,
        "allocations": [
            [a.line_id, a.funder, a.amount_minor, a.outstanding_minor]
            for a in sorted(allocations, key=lambda a: a.position)
        ],
    }


def _draw_in_python(
    session: Session,
    distributor: repo.DistributorInfo,
    *,
    reseller_id: str,
    reference: str,
    amount_minor: int,
    vendor_id: str | None,
    actor: str,
) -> dict:
    distributor_id = distributor.id
    reseller = repo.get_reseller(session, distributor_id, reseller_id, lock=True)
    if reseller is None:
        return {"outcome": "not_found"}
    existing = repo.get_drawing(session, distributor_id, reseller_id, reference)
    if existing is not None:
        if existing.amount_minor != amount_minor or existing.vendor_id != vendor_id:
            return {"outcome": "idempotency_conflict"}
        return _drawing_result(
            "replayed", existing, repo.allocations_of(session, distributor_id, reseller_id, [reference])
        )
    if reseller.status == "terminated":
        return {"outcome": "reseller_terminated"}
    if reseller.status == "on_hold":
        return {"outcome": "account_on_hold"}
    lines = repo.lines_of(session, distributor_id, reseller_id)
    now = clock.now()
    decision = elig.decide(
        [line_state(row) for row in lines],
        amount=amount_minor,
        vendor_id=vendor_id,
        day=clock.local_date(now, distributor.timezone),
        reseller_status=reseller.status,
    )
    if not decision.eligible:
        return {"outcome": "insufficient_credit", "available": decision.available, "shortfall": decision.shortfall}
    by_id = {line.id: line for line in lines}
    drawing = Drawing(
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        reference=reference,
        amount_minor=amount_minor,
        outstanding_minor=amount_minor,
        vendor_id=vendor_id,
        status="open",
        created_at=now,
        created_by=actor,
    )
    session.add(drawing)
    session.flush()  # the drawing row before the allocations that reference it
    _entry(
        session,
        reseller,
        kind="drawing_posted",
        actor=actor,
        at=now,
        drawing_reference=reference,
        amount_minor=amount_minor,
        details={"vendor_id": vendor_id} if vendor_id else None,
    )
    allocations = []
    for position, item in enumerate(decision.plan):
        line = by_id[item.line_id]
        line.drawn_minor += item.amount
        if line.kind == "programme" and line.drawn_minor > line.limit_minor:  # pragma: no cover
            raise RuntimeError("waterfall overdrew a programme line")
        alloc = Allocation(
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            drawing_reference=reference,
            line_id=line.id,
            funder=line.funder,
            amount_minor=item.amount,
            outstanding_minor=item.amount,
            position=position,
        )
        session.add(alloc)
        allocations.append(alloc)
        _entry(
            session,
            reseller,
            kind="drawing_allocated",
            actor=actor,
            at=now,
            line_id=line.id,
            drawing_reference=reference,
            drawn_delta_minor=item.amount,
        )
    session.flush()
    return _drawing_result("created", drawing, allocations)


def get_drawing(session: Session, *, distributor_id: str, reseller_id: str, reference: str) -> DrawingView:
    distributor = require_distributor(session, distributor_id)
    _require_reseller(session, distributor_id, reseller_id, lock=False)
    drawing = repo.get_drawing(session, distributor_id, reseller_id, reference)
    if drawing is None:
        raise NotFound(f"drawing {reference!r} does not exist for reseller {reseller_id!r}")
    return _drawing_view(session, drawing, distributor.currency)


def list_drawings(
    session: Session, *, distributor_id: str, reseller_id: str, after: str | None, limit: int, status: str | None = None
) -> list[DrawingView]:
    distributor = require_distributor(session, distributor_id)
    _require_reseller(session, distributor_id, reseller_id, lock=False)
    drawings = repo.list_drawings(
        session, distributor_id, reseller_id, after_reference=after, limit=limit, status=status
    )
    allocations = repo.allocations_of(session, distributor_id, reseller_id, [d.reference for d in drawings])
    by_ref: dict[str, list[Allocation]] = {}
    for alloc in allocations:
        by_ref.setdefault(alloc.drawing_reference, []).append(alloc)
    return [_drawing_view(session, d, distributor.currency, by_ref.get(d.reference, [])) for d in drawings]


def release(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    drawing_reference: str,
    reference: str,
    amount: Money,
    kind: str,
    actor: str,
) -> tuple[DrawingView, bool]:
    """Reduce a drawing's outstanding (payment, cancellation, credit note), vendor money first.

    Accepted whatever the reseller's status: money coming in is never refused. Idempotent on
    ``reference`` per drawing. Returns (the drawing after it, created).
    """
    distributor = require_distributor(session, distributor_id)
    validation.reference(reference)
    if kind not in RELEASE_KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(RELEASE_KINDS)}")
    amount_minor = _check_currency(amount, distributor)
    if amount_minor <= 0:
        raise InvalidAmount("amount must be positive")
    reseller = _require_reseller(session, distributor_id, reseller_id, lock=True)
    drawing = repo.get_drawing(session, distributor_id, reseller_id, drawing_reference)
    if drawing is None:
        raise NotFound(f"drawing {drawing_reference!r} does not exist for reseller {reseller_id!r}")
    existing = repo.get_release(session, distributor_id, reseller_id, drawing_reference, reference)
    if existing is not None:
        if existing.amount_minor != amount_minor or existing.kind != kind:
            raise IdempotencyConflict(f"release {reference!r} was already posted with a different amount or kind")
        return _drawing_view(session, drawing, distributor.currency), False
    if amount_minor > drawing.outstanding_minor:
        cur = distributor.currency
        raise ReleaseExceedsOutstanding(
            f"release of {from_minor(amount_minor, cur).amount} {cur} exceeds the outstanding "
            f"{from_minor(drawing.outstanding_minor, cur).amount} {cur} of {drawing_reference}",
            outstanding=_money(drawing.outstanding_minor, cur),
        )
    now = clock.now()
    allocations = repo.allocations_of(session, distributor_id, reseller_id, [drawing_reference])
    lines = {line.id: line for line in repo.lines_of(session, distributor_id, reseller_id)}
    by_line = {a.line_id: a for a in allocations}
    plan = elig.release_plan(
        [(line_state(lines[a.line_id]), a.outstanding_minor) for a in allocations if a.outstanding_minor > 0],
        amount_minor,
    )
    session.add(
        Release(
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            drawing_reference=drawing_reference,
            reference=reference,
            amount_minor=amount_minor,
            kind=kind,
            created_at=now,
            created_by=actor,
        )
    )
    session.flush()
    _entry(
        session,
        reseller,
        kind="release_posted",
        actor=actor,
        at=now,
        drawing_reference=drawing_reference,
        release_reference=reference,
        amount_minor=amount_minor,
        details={"kind": kind},
    )
    for line_id, freed in plan:
        alloc = by_line[line_id]
        alloc.outstanding_minor -= freed
        lines[line_id].drawn_minor -= freed
        _entry(
            session,
            reseller,
            kind="release_applied",
            actor=actor,
            at=now,
            line_id=line_id,
            drawing_reference=drawing_reference,
            release_reference=reference,
            drawn_delta_minor=-freed,
        )
    drawing.outstanding_minor -= amount_minor
    drawing.status = "settled" if drawing.outstanding_minor == 0 else "open"
    ledger_events.released(
        session,
        reseller,
        drawing=drawing,
        release_reference=reference,
        amount_minor=amount_minor,
        lines=lines.values(),
        plan=plan,
        at=now,
    )
    session.flush()
    return _drawing_view(session, drawing, distributor.currency, allocations), True


def ledger_entries(
    session: Session, *, distributor_id: str, reseller_id: str, after_seq: int | None, limit: int
) -> list[LedgerEntry]:
    require_distributor(session, distributor_id)
    _require_reseller(session, distributor_id, reseller_id, lock=False)
    return repo.entries_of(session, distributor_id, reseller_id, after_seq=after_seq, limit=limit)


# ---------------------------------------------------------------------------- reseller summaries


@dataclass(frozen=True)
class ResellerSummary:
    reseller: Reseller
    currency: str
    totals: elig.Totals


def reseller_summary(session: Session, *, distributor_id: str, reseller_id: str) -> ResellerSummary:
    distributor = require_distributor(session, distributor_id)
    reseller, rows = _current_state(session, distributor_id, reseller_id)
    day = clock.local_today(distributor.timezone)
    return ResellerSummary(reseller, distributor.currency, elig.totals([line_state(r) for r in rows], day))


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
        lines.setdefault(row.reseller_id, []).append(line_state(row))
    return [ResellerSummary(r, distributor.currency, elig.totals(lines.get(r.id, []), day)) for r in resellers]


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
    objects: list = []
    for reseller_id, name, limit in rows:
        if reseller_id in existing:
            continue
        _identifier(reseller_id, "reseller id")
        _text(name, "name", max_length=200)
        limit_minor = _check_currency(limit, distributor)
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
        common = dict(distributor_id=distributor_id, reseller_id=reseller_id, at=now, actor=actor)
        objects.append(
            LedgerEntry(
                seq=1, kind="reseller_created", status_after="active", details=json.dumps({"name": name}), **common
            )
        )
        objects.append(
            LedgerEntry(
                seq=2,
                kind="line_opened",
                line_id=line_id,
                limit_after_minor=0,
                status_after="active",
                drawn_delta_minor=0,
                details=json.dumps({"funder": distributor_id, "kind": "base"}, sort_keys=True),
                **common,
            )
        )
        if limit_minor:
            objects.append(
                LedgerEntry(
                    seq=3,
                    kind="limit_set",
                    reason=reason,
                    line_id=line_id,
                    limit_after_minor=limit_minor,
                    details=json.dumps({"before_minor": 0}),
                    **common,
                )
            )
    resellers = [o for o in objects if isinstance(o, Reseller)]
    session.add_all(resellers)
    session.flush()  # resellers before the rows that reference them
    session.add_all([o for o in objects if not isinstance(o, Reseller)])
    session.flush()
    ledger_events.resellers_imported(
        session,
        distributor_id=distributor_id,
        at=now,
        reason=reason,
        rows=[(r, n, _check_currency(m, distributor)) for r, n, m in rows if r not in existing],
    )
    return len(resellers)

"""Credit lines funded by vendors: granting, extending, and closing them (expiry, revocation).

A line's end is applied here: ``transfer_to_base`` moves what is still drawn onto the base line,
``run_off`` leaves it owed on the closed line. The base line's limit is set in
:mod:`creditlines.ledger.resellers`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, cast

from moneyed import Money
from sqlalchemy import Connection, Row, Table, bindparam, case, insert, select, update
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.db import bulk
from creditlines.errors import InvalidAmount, NotFound, ResellerTerminated, ValidationFailed
from creditlines.ledger import events as ledger_events
from creditlines.ledger import journal
from creditlines.ledger.held_release import release_held_orders
from creditlines.ledger.models import ON_EXPIRY, USABLE_FOR, Allocation, Line, Reseller
from creditlines.ledger.repository import require_reseller
from creditlines.tenants import lookup
from creditlines.tenants.lookup import require_distributor


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
    if lookup.get_vendor(session, vendor_id) is None:
        raise NotFound(f"vendor {vendor_id!r} does not exist")
    if usable_for not in USABLE_FOR:
        raise ValidationFailed(f"usable_for must be one of {', '.join(USABLE_FOR)}")
    if on_expiry not in ON_EXPIRY:
        raise ValidationFailed(f"on_expiry must be one of {', '.join(ON_EXPIRY)}")
    limit_minor = validation.amount_minor(limit, distributor.currency)
    if limit_minor <= 0:
        raise InvalidAmount("a programme line's limit must be positive")
    if reseller is None:
        reseller = require_reseller(session, distributor_id, reseller_id, lock=True)
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
    journal.append(
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
    release_held_orders(session, reseller, actor=actor, cause="line_granted", at=now)
    return line


def extend_line(
    session: Session, *, reseller: Reseller, line: Line, valid_until: date, actor: str, reason: str | None
) -> Line:
    """Move a programme line's end date (extension or a programme's new ``ends_on``)."""
    if line.valid_until != valid_until:
        journal.append(
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
        if before is not None and valid_until > before:
            release_held_orders(session, reseller, actor=actor, cause="line_extended")
    return line


def close_lines(
    session: Session,
    *,
    distributor_id: str,
    closing: list[tuple[Reseller, Line]],
    bases: dict[str, Line],
    status: str,
    at: datetime,
    actor: str,
    reason: Callable[[Line], str],
) -> dict[str, int]:
    """Expire or revoke programme lines of *locked* resellers and apply their ``on_expiry``.

    ``transfer_to_base`` moves what is still drawn, allocation by allocation, to the reseller's
    base line (which may leave it over limit); ``run_off`` leaves it on the closed line, owed
    under the vendor's guarantee until released. Decisions are made here in Python; the writes
    are set-wise (a few statements for the whole batch), so the nightly job's cost is in the
    lines that end, not in round trips. ``reason(line)`` gives each line's ledger reason.
    Returns the minor units moved to base, per reseller id.
    """
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
    entries: list[dict[str, Any]] = []
    base_alloc_add: dict[tuple[str, str, str], int] = {}  # (reseller, base line, drawing) -> amount
    moved: dict[str, int] = {}

    def entry(reseller_id: str, **values: Any) -> None:
        seq[reseller_id] += 1
        entries.append(journal.entry_row(d, reseller_id, seq[reseller_id], at=at, actor=actor, **values))

    for reseller, line in closing:
        assert line.kind in ("programme", "financing") and line.status == "active"
        why = reason(line)
        entry(
            reseller.id,
            kind=f"line_{status}",
            reason=why,
            line_id=line.id,
            status_after=status,
            details={"on_expiry": line.on_expiry},
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
                    details={"to_line": base.id},
                )
                entry(
                    reseller.id,
                    kind="drawn_transferred_in",
                    reason=why,
                    line_id=base.id,
                    drawing_reference=ref,
                    drawn_delta_minor=amount,
                    details={"from_line": line.id},
                )
            moved[reseller.id] = moved.get(reseller.id, 0) + total

    line_table, alloc_table = cast(Table, Line.__table__), cast(Table, Allocation.__table__)
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
    base_moves = [{"d": d, "l": bases[r].id, "amount": a} for r, a in moved.items()]
    _write_moves(conn, to_update, to_insert, base_moves)
    journal.insert_rows(conn, entries)
    journal.set_sequences(conn, d, seq)
    ledger_events.lines_closed(session, distributor_id=d, closing=closing, status=status, at=at, moving=moving_set)
    # The ORM objects the caller holds are stale now: refresh them on next access (collect
    # first: reading an expired object's id would reload it).
    # The nightly job passes plain rows (Core), which hold nothing to refresh.
    stale = {obj for reseller, line in closing for obj in (reseller, line, bases[reseller.id]) if not _row(obj)}
    for obj in stale:
        session.expire(obj)
    return moved


def _row(obj: object) -> bool:
    return isinstance(obj, Row)  # a Core row (the nightly job's), not an ORM object


def _write_moves(
    conn: Connection,
    to_update: list[dict[str, Any]],
    to_insert: list[dict[str, Any]],
    base_moves: list[dict[str, Any]],
) -> None:
    """The balance moves of :func:`close_lines`: open allocations onto the base lines, and the base
    lines' drawn amounts. On PostgreSQL each table in one statement (``creditlines.db.bulk``),
    elsewhere ``executemany``; ``tests/jobs/test_expiry_set_based.py`` compares both, row by row."""
    alloc_table, line_table = cast(Table, Allocation.__table__), cast(Table, Line.__table__)
    if bulk.usable(conn):
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
        return
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

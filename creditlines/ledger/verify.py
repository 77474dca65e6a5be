"""Recompute every balance from the ledger and report any difference.

Streams entries and lines in primary-key order (memory stays flat whatever the history)
and lets the database aggregate allocations, drawings and releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditlines.ledger import repository as repo
from creditlines.ledger.fold import fold
from creditlines.ledger.models import Allocation, Drawing, Line, Release


@dataclass(frozen=True)
class Difference:
    distributor_id: str
    subject: str  # "line L", "reseller R", "drawing D"
    field: str
    stored: object
    from_ledger: object

    def __str__(self) -> str:
        return (
            f"{self.distributor_id} {self.subject}: {self.field} stored {self.stored!r}, "
            f"ledger says {self.from_ledger!r}"
        )


def verify(session: Session, *, distributor_id: str | None = None) -> list[Difference]:
    differences = list(_entries_against_rows(session, distributor_id))
    differences += _allocations_against_lines(session, distributor_id)
    differences += _allocations_against_drawings(session, distributor_id)
    differences += _releases_against_drawings(session, distributor_id)
    return differences


def _entries_against_rows(session: Session, distributor_id: str | None) -> Iterator[Difference]:
    entries = groupby(repo.stream_entries(session, distributor_id), key=lambda e: (e.distributor_id, e.reseller_id))
    lines = groupby(repo.stream_lines(session, distributor_id), key=lambda l: (l.distributor_id, l.reseller_id))
    resellers = repo.stream_resellers(session, distributor_id)
    pending_entries = next(entries, None)
    pending_lines = next(lines, None)
    for reseller in resellers:
        key = (reseller.distributor_id, reseller.id)
        own_entries: list = []
        while pending_entries is not None and pending_entries[0] < key:
            yield Difference(pending_entries[0][0], f"reseller {pending_entries[0][1]}", "exists", False, True)
            pending_entries = next(entries, None)
        if pending_entries is not None and pending_entries[0] == key:
            own_entries = list(pending_entries[1])
            pending_entries = next(entries, None)
        own_lines: list = []
        while pending_lines is not None and pending_lines[0] < key:
            pending_lines = next(lines, None)
        if pending_lines is not None and pending_lines[0] == key:
            own_lines = list(pending_lines[1])
            pending_lines = next(lines, None)
        yield from _check_reseller(reseller, own_entries, own_lines)


def _check_reseller(reseller, entries: list, lines: list) -> Iterator[Difference]:
    d = reseller.distributor_id
    folded_all = fold(entries)
    status, last_seq, folded = folded_all.status, folded_all.last_seq, folded_all.lines
    if status != reseller.status:
        yield Difference(d, f"reseller {reseller.id}", "status", reseller.status, status)
    if last_seq != reseller.ledger_seq:
        yield Difference(d, f"reseller {reseller.id}", "ledger_seq", reseller.ledger_seq, last_seq)
    seen = set()
    for line in lines:
        seen.add(line.id)
        state = folded.get(line.id)
        if state is None:
            yield Difference(d, f"line {line.id}", "ledger entries", "line exists", "none")
            continue
        for field, stored in (
            ("drawn", line.drawn_minor),
            ("limit", line.limit_minor),
            ("valid_until", line.valid_until),
            ("status", line.status),
        ):
            if stored != getattr(state, field):
                yield Difference(d, f"line {line.id}", field, stored, getattr(state, field))
    for line_id in folded.keys() - seen:
        yield Difference(d, f"line {line_id}", "exists", False, True)


def _scoped(stmt, column, distributor_id):
    return stmt.where(column == distributor_id) if distributor_id else stmt


def _allocations_against_lines(session: Session, distributor_id: str | None) -> list[Difference]:
    outstanding = (
        select(
            Allocation.distributor_id,
            Allocation.line_id,
            func.sum(Allocation.outstanding_minor).label("outstanding"),
        )
        .group_by(Allocation.distributor_id, Allocation.line_id)
        .subquery()
    )
    stmt = select(Line.distributor_id, Line.id, Line.drawn_minor, outstanding.c.outstanding).outerjoin(
        outstanding,
        (outstanding.c.distributor_id == Line.distributor_id) & (outstanding.c.line_id == Line.id),
    ).where(Line.drawn_minor != func.coalesce(outstanding.c.outstanding, 0))
    stmt = _scoped(stmt, Line.distributor_id, distributor_id)
    return [
        Difference(d, f"line {line_id}", "drawn vs open allocations", drawn, int(alloc or 0))
        for d, line_id, drawn, alloc in session.execute(stmt)
    ]


def _allocations_against_drawings(session: Session, distributor_id: str | None) -> list[Difference]:
    sums = (
        select(
            Allocation.distributor_id,
            Allocation.reseller_id,
            Allocation.drawing_reference,
            func.sum(Allocation.amount_minor).label("amount"),
            func.sum(Allocation.outstanding_minor).label("outstanding"),
        )
        .group_by(Allocation.distributor_id, Allocation.reseller_id, Allocation.drawing_reference)
        .subquery()
    )
    joined = (sums.c.distributor_id == Drawing.distributor_id) & (sums.c.reseller_id == Drawing.reseller_id) & (
        sums.c.drawing_reference == Drawing.reference
    )
    stmt = select(
        Drawing.distributor_id, Drawing.reseller_id, Drawing.reference, Drawing.amount_minor,
        Drawing.outstanding_minor, sums.c.amount, sums.c.outstanding,
    ).outerjoin(sums, joined).where(
        (Drawing.amount_minor != func.coalesce(sums.c.amount, 0))
        | (Drawing.outstanding_minor != func.coalesce(sums.c.outstanding, 0))
    )
    stmt = _scoped(stmt, Drawing.distributor_id, distributor_id)
    result = []
    for d, r, ref, amount, outstanding, alloc_amount, alloc_out in session.execute(stmt):
        if amount != int(alloc_amount or 0):
            result.append(Difference(d, f"drawing {r}/{ref}", "amount vs allocations", amount, int(alloc_amount or 0)))
        if outstanding != int(alloc_out or 0):
            result.append(Difference(d, f"drawing {r}/{ref}", "outstanding vs allocations", outstanding, int(alloc_out or 0)))
    return result


def _releases_against_drawings(session: Session, distributor_id: str | None) -> list[Difference]:
    sums = (
        select(
            Release.distributor_id, Release.reseller_id, Release.drawing_reference,
            func.sum(Release.amount_minor).label("released"),
        )
        .group_by(Release.distributor_id, Release.reseller_id, Release.drawing_reference)
        .subquery()
    )
    joined = (sums.c.distributor_id == Drawing.distributor_id) & (sums.c.reseller_id == Drawing.reseller_id) & (
        sums.c.drawing_reference == Drawing.reference
    )
    stmt = select(
        Drawing.distributor_id, Drawing.reseller_id, Drawing.reference, Drawing.amount_minor,
        Drawing.outstanding_minor, sums.c.released,
    ).outerjoin(sums, joined).where(
        Drawing.outstanding_minor != Drawing.amount_minor - func.coalesce(sums.c.released, 0)
    )
    stmt = _scoped(stmt, Drawing.distributor_id, distributor_id)
    return [
        Difference(d, f"drawing {r}/{ref}", "outstanding vs releases", outstanding, amount - int(released or 0))
        for d, r, ref, amount, outstanding, released in session.execute(stmt)
    ]

"""Recompute every balance from the ledger and report any difference.

Streams entries, lines, drawings and releases in primary-key order, one reseller at a time
(memory stays flat whatever the history), and lets the database aggregate allocations.

Per reseller: the sequence runs 1..n without a gap and ends at the reseller's counter; the
fold of the entries gives the reseller's status and each line's balance; each drawing has its
``drawing_posted`` entry with its amount, and its outstanding is that amount less the releases
the ledger posted against it and the amounts it wrote off; each release has its
``release_posted`` entry with its amount — and no entry names a drawing or a release that is not
there. Per allocation (SPEC §20): what was drawn on the line for the drawing (allocated, plus
transferred in) = outstanding + released + transferred out + written off, i.e. the sum of the
balance changes the ledger records for that drawing on that line is the allocation's outstanding.
The losses' own checks (claims against write-offs by funder) are in ``creditlines.losses.verify``.
A held, cancelled or expired order (SPEC §16) draws nothing: no entry, allocation or release,
outstanding 0; the reseller's ``held_count`` is the number of its held orders. A financing line
(SPEC §17) is a line like any other: its balance is the fold of its entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from creditlines.ledger import repository as repo
from creditlines.ledger.fold import fold
from creditlines.ledger.models import Allocation, Drawing, LedgerEntry, Line, Release, Reseller

_S = TypeVar("_S", bound=Select[Any])
_Row = Any  # a streamed row with distributor_id and reseller_id


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
    entries_of = _PerReseller(repo.stream_entries(session, distributor_id))
    lines_of = _PerReseller(repo.stream_lines(session, distributor_id))
    drawings_of = _PerReseller(repo.stream_drawings(session, distributor_id))
    releases_of = _PerReseller(repo.stream_releases(session, distributor_id))
    allocations_of = _PerReseller(repo.stream_allocations(session, distributor_id))
    for reseller in repo.stream_resellers(session, distributor_id):
        key = (reseller.distributor_id, reseller.id)
        own_entries = entries_of.take(key)
        for orphan in entries_of.skipped:
            yield Difference(orphan[0], f"reseller {orphan[1]}", "exists", False, True)
        yield from _check_reseller(reseller, own_entries, lines_of.take(key))
        yield from _check_drawings_and_releases(reseller, own_entries, drawings_of.take(key), releases_of.take(key))
        yield from _check_allocations(reseller, own_entries, allocations_of.take(key))
    entries_of.take((chr(0x10FFFF),))  # entries after the last reseller
    for orphan in entries_of.skipped:
        yield Difference(orphan[0], f"reseller {orphan[1]}", "exists", False, True)


class _PerReseller:
    """Rows streamed in (distributor_id, reseller_id, …) order, handed out one reseller at a time."""

    def __init__(self, rows: Iterable[_Row]) -> None:
        self._groups = groupby(rows, key=lambda row: (row.distributor_id, row.reseller_id))
        self._pending = next(self._groups, None)
        self.skipped: list[tuple[str, ...]] = []  # the keys passed over by the last take()

    def take(self, key: tuple[str, ...]) -> list[Any]:
        self.skipped = []
        while self._pending is not None and self._pending[0] < key:
            self.skipped.append(self._pending[0])
            self._pending = next(self._groups, None)
        if self._pending is not None and self._pending[0] == key:
            rows = list(self._pending[1])
            self._pending = next(self._groups, None)
            return rows
        return []


def _check_reseller(reseller: Reseller, entries: list[LedgerEntry], lines: list[Line]) -> Iterator[Difference]:
    d = reseller.distributor_id
    folded_all = fold(entries)
    status, last_seq, folded = folded_all.status, folded_all.last_seq, folded_all.lines
    if status != reseller.status:
        yield Difference(d, f"reseller {reseller.id}", "status", reseller.status, status)
    for expected, entry in enumerate(entries, start=1):
        if entry.seq != expected:  # a gap (or a sequence not starting at 1): report the first
            yield Difference(d, f"reseller {reseller.id}", "ledger sequence", entry.seq, expected)
            break
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


def _check_drawings_and_releases(
    reseller: Reseller, entries: list[LedgerEntry], drawings: list[Drawing], releases: list[Release]
) -> Iterator[Difference]:
    d, r = reseller.distributor_id, reseller.id
    # Typed as the columns are (nullable): verify reads whatever the tables hold.
    posted: dict[str | None, list[int | None]] = {}  # drawing -> amounts of its drawing_posted entries
    released: dict[str | None, int] = {}  # drawing -> sum of its release_posted entries
    written_off: dict[str | None, int] = {}  # drawing -> sum of its written_off entries
    release_entries: dict[tuple[str | None, str | None], list[int | None]] = {}
    for entry in entries:
        if entry.kind == "drawing_posted":
            posted.setdefault(entry.drawing_reference, []).append(entry.amount_minor)
        elif entry.kind == "release_posted":
            released[entry.drawing_reference] = released.get(entry.drawing_reference, 0) + (entry.amount_minor or 0)
            release_entries.setdefault((entry.drawing_reference, entry.release_reference), []).append(
                entry.amount_minor
            )
        elif entry.kind == "written_off":
            written_off[entry.drawing_reference] = written_off.get(entry.drawing_reference, 0) + (
                entry.amount_minor or 0
            )
    seen = set()
    held = sum(1 for drawing in drawings if drawing.status == "held")
    if held != reseller.held_count:
        yield Difference(d, f"reseller {r}", "held_count vs held orders", reseller.held_count, held)
    for drawing in drawings:
        seen.add(drawing.reference)
        subject = f"drawing {r}/{drawing.reference}"
        amounts = posted.get(drawing.reference, [])
        if drawing.status in UNPOSTED:  # a held, cancelled or expired order draws nothing
            if amounts or drawing.outstanding_minor or released.get(drawing.reference):
                yield Difference(d, subject, f"{drawing.status} order in the ledger", "nothing", amounts)
            continue
        if amounts != [drawing.amount_minor]:
            yield Difference(
                d,
                subject,
                "amount vs ledger",
                drawing.amount_minor,
                amounts[0] if len(amounts) == 1 else amounts or None,
            )
        expected = (
            ((amounts[0] or 0) if len(amounts) == 1 else 0)
            - released.get(drawing.reference, 0)
            - written_off.get(drawing.reference, 0)
        )
        if drawing.outstanding_minor != expected:
            yield Difference(d, subject, "outstanding vs ledger", drawing.outstanding_minor, expected)
    for reference in sorted(posted.keys() - seen, key=str):
        yield Difference(d, f"drawing {r}/{reference}", "exists", False, True)
    seen_releases = set()
    for release in releases:
        key = (release.drawing_reference, release.reference)
        seen_releases.add(key)
        amounts = release_entries.get(key, [])
        if amounts != [release.amount_minor]:
            yield Difference(
                d,
                f"release {r}/{key[0]}/{key[1]}",
                "amount vs ledger",
                release.amount_minor,
                amounts[0] if len(amounts) == 1 else amounts or None,
            )
    for drawing_reference, reference in sorted(release_entries.keys() - seen_releases):
        yield Difference(d, f"release {r}/{drawing_reference}/{reference}", "exists", False, True)


def _check_allocations(
    reseller: Reseller, entries: list[LedgerEntry], allocations: list[Allocation]
) -> Iterator[Difference]:
    """drawn = outstanding + released + transferred + written off, per allocation: the ledger's
    balance changes naming the drawing on the line add up to the allocation's outstanding."""
    d, r = reseller.distributor_id, reseller.id
    moved: dict[tuple[str | None, str | None], int] = {}
    for entry in entries:
        if entry.drawing_reference is not None and entry.line_id is not None and entry.drawn_delta_minor:
            key = (entry.drawing_reference, entry.line_id)
            moved[key] = moved.get(key, 0) + entry.drawn_delta_minor
    for alloc in allocations:
        expected = moved.pop((alloc.drawing_reference, alloc.line_id), 0)
        if alloc.outstanding_minor != expected:
            subject = f"allocation {r}/{alloc.drawing_reference}/{alloc.line_id}"
            yield Difference(d, subject, "outstanding vs ledger", alloc.outstanding_minor, expected)
    for (ref, line_id), rest in sorted(moved.items(), key=str):
        if rest:
            yield Difference(d, f"allocation {r}/{ref}/{line_id}", "exists", False, True)


def _scoped(stmt: _S, column: Any, distributor_id: str | None) -> _S:
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
    stmt = (
        select(Line.distributor_id, Line.id, Line.drawn_minor, outstanding.c.outstanding)
        .outerjoin(
            outstanding,
            (outstanding.c.distributor_id == Line.distributor_id) & (outstanding.c.line_id == Line.id),
        )
        .where(Line.drawn_minor != func.coalesce(outstanding.c.outstanding, 0))
    )
    stmt = _scoped(stmt, Line.distributor_id, distributor_id)
    return [
        Difference(d, f"line {line_id}", "drawn vs open allocations", drawn, int(alloc or 0))
        for d, line_id, drawn, alloc in session.execute(stmt)
    ]


UNPOSTED = ("held", "cancelled", "expired")  # held orders never posted: no entry, allocation or release


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
    joined = (
        (sums.c.distributor_id == Drawing.distributor_id)
        & (sums.c.reseller_id == Drawing.reseller_id)
        & (sums.c.drawing_reference == Drawing.reference)
    )
    stmt = (
        select(
            Drawing.distributor_id,
            Drawing.reseller_id,
            Drawing.reference,
            Drawing.amount_minor,
            Drawing.outstanding_minor,
            sums.c.amount,
            sums.c.outstanding,
            Drawing.status,
        )
        .outerjoin(sums, joined)
        .where(
            (
                Drawing.status.not_in(UNPOSTED)
                & (
                    (Drawing.amount_minor != func.coalesce(sums.c.amount, 0))
                    | (Drawing.outstanding_minor != func.coalesce(sums.c.outstanding, 0))
                )
            )
            | (Drawing.status.in_(UNPOSTED) & (func.coalesce(sums.c.amount, 0) != 0))
        )
    )
    stmt = _scoped(stmt, Drawing.distributor_id, distributor_id)
    result = []
    for d, r, ref, amount, outstanding, alloc_amount, alloc_out, status in session.execute(stmt):
        if status in UNPOSTED:
            result.append(Difference(d, f"drawing {r}/{ref}", f"allocations of a {status} order", 0, int(alloc_amount)))
            continue
        if amount != int(alloc_amount or 0):
            result.append(Difference(d, f"drawing {r}/{ref}", "amount vs allocations", amount, int(alloc_amount or 0)))
        if outstanding != int(alloc_out or 0):
            result.append(
                Difference(d, f"drawing {r}/{ref}", "outstanding vs allocations", outstanding, int(alloc_out or 0))
            )
    return result


def _releases_against_drawings(session: Session, distributor_id: str | None) -> list[Difference]:
    sums = (
        select(
            Release.distributor_id,
            Release.reseller_id,
            Release.drawing_reference,
            func.sum(Release.amount_minor).label("released"),
        )
        .group_by(Release.distributor_id, Release.reseller_id, Release.drawing_reference)
        .subquery()
    )
    joined = (
        (sums.c.distributor_id == Drawing.distributor_id)
        & (sums.c.reseller_id == Drawing.reseller_id)
        & (sums.c.drawing_reference == Drawing.reference)
    )
    # What was written off (SPEC §20) leaves the outstanding as a release does.
    lost = (
        select(
            LedgerEntry.distributor_id,
            LedgerEntry.reseller_id,
            LedgerEntry.drawing_reference,
            func.sum(LedgerEntry.amount_minor).label("written_off"),
        )
        .where(LedgerEntry.kind == "written_off")
        .group_by(LedgerEntry.distributor_id, LedgerEntry.reseller_id, LedgerEntry.drawing_reference)
        .subquery()
    )
    lost_joined = (
        (lost.c.distributor_id == Drawing.distributor_id)
        & (lost.c.reseller_id == Drawing.reseller_id)
        & (lost.c.drawing_reference == Drawing.reference)
    )
    gone = func.coalesce(sums.c.released, 0) + func.coalesce(lost.c.written_off, 0)
    stmt = (
        select(
            Drawing.distributor_id,
            Drawing.reseller_id,
            Drawing.reference,
            Drawing.amount_minor,
            Drawing.outstanding_minor,
            gone.label("gone"),
        )
        .outerjoin(sums, joined)
        .outerjoin(lost, lost_joined)
        .where(
            (Drawing.status.not_in(UNPOSTED) & (Drawing.outstanding_minor != Drawing.amount_minor - gone))
            | (Drawing.status.in_(UNPOSTED) & (gone != 0))
        )
    )
    stmt = _scoped(stmt, Drawing.distributor_id, distributor_id)
    return [
        Difference(d, f"drawing {r}/{ref}", "outstanding vs releases", outstanding, amount - int(released or 0))
        for d, r, ref, amount, outstanding, released in session.execute(stmt)
    ]

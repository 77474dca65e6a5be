"""A funder's monthly statement (SPEC §21): what each reseller drew on the funder's lines, what
came back, what moved and what was lost, chained month to month by digest.

The funder ``f`` at distributor ``d`` is the distributor itself (its base lines), a vendor (its
programme lines) or a financier (its financing lines: any other line kind). A statement is a pure
function of the append-only ledger (and of the claims' immutable columns: id, funder, amount,
creation): balance moves are the ledger entries on the funder's lines, bucketed by local month in
the distributor's time zone; asked again it is byte-identical.

Per reseller that had a line of the funder in the month (open at its start, or any entry in it):
``opening_drawn + drawn − released − transferred − written_off = closing_drawn``, where
``transferred`` is what moved off the funder's lines to another (net of what moved onto them: on
base lines it is negative when run-off lines transfer in). Lines granted, extended, expired and
revoked are counts; claims opened are a count and an amount.

The canonical JSON is ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
encoded as UTF-8; ``digest`` is the hex SHA-256 of the canonical JSON of the statement without
``digest``; ``previous_digest`` is the previous month's ``digest`` (null for the funder's first
month, the month of the first ledger entry on its lines). See docs/DECISIONS.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.csvdoc import AMOUNT
from creditlines.errors import NotFound, PeriodNotClosed, ValidationFailed
from creditlines.ledger.models import LedgerEntry, Line
from creditlines.losses.models import Claim
from creditlines.money import minor_digits
from creditlines.tenants import lookup

PERIOD = re.compile(r"(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])")
COUNTED = {
    "line_opened": "lines_granted",
    "line_valid_until_set": "lines_extended",
    "line_expired": "lines_expired",
    "line_revoked": "lines_revoked",
}
AMOUNTS = ("opening_drawn", "drawn", "released", "transferred", "written_off", "closing_drawn")
COUNTS = ("lines_granted", "lines_extended", "lines_expired", "lines_revoked", "claims_opened")


def _amounts(currency: str) -> Any:
    """``money.amount_str`` for one currency, with integers only (a statement formats ~20,000)."""
    digits = minor_digits(currency)
    unit = 10**digits

    def amount(minor: int) -> str:
        if digits == 0:
            return str(minor)
        q, r = divmod(abs(minor), unit)
        return f"{'-' if minor < 0 else ''}{q}.{r:0{digits}d}"

    return amount


def canonical(document: dict[str, Any]) -> bytes:
    """The canonical JSON: sorted keys, no spaces, UTF-8 (what the digest is taken of)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest_of(statement: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in statement.items() if k != "digest"})).hexdigest()


def parse_period(value: str) -> tuple[int, int]:
    if not isinstance(value, str) or not PERIOD.fullmatch(value):
        raise ValidationFailed("the period must be a month YYYY-MM between 1900-01 and 2200-12")
    return int(value[:4]), int(value[5:])


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _start(year: int, month: int, tz: str) -> datetime:
    """The instant a local month starts, in UTC."""
    return datetime.combine(date(year, month, 1), time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


@dataclass
class _Row:
    opening: int = 0
    moves: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AMOUNTS[1:5], 0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    claims_minor: int = 0
    active_start: int = 0  # lines of the funder open at the month's start (granted − closed before it)
    net_opened: int = 0  # granted − closed in the month
    touched: bool = False

    @property
    def closing(self) -> int:
        m = self.moves
        return self.opening + m["drawn"] - m["released"] - m["transferred"] - m["written_off"]


@dataclass(frozen=True)
class Funder:
    id: str
    kind: str  # distributor | vendor | financier

    def lines(self, distributor_id: str) -> ColumnElement[bool]:
        if self.kind == "distributor":
            return and_(Line.distributor_id == distributor_id, Line.kind == "base")
        return and_(Line.distributor_id == distributor_id, Line.funder == self.id, Line.kind != "base")

    def claims(self) -> ColumnElement[bool]:
        if self.kind == "distributor":
            return Claim.funder_kind == "insurer"  # what the distributor claims for its own (base) losses
        return and_(Claim.funder == self.id, Claim.funder_kind == self.kind)


def funder_of(session: Session, distributor_id: str, funder: str) -> Funder:
    if funder == distributor_id:
        return Funder(funder, "distributor")
    kinds = set(
        session.scalars(
            select(Line.kind)
            .where(Line.distributor_id == distributor_id, Line.funder == funder, Line.kind != "base")
            .distinct()
        )
    )
    if not kinds:
        raise NotFound(f"{funder!r} funds no line at {distributor_id!r}")
    return Funder(funder, "vendor" if "programme" in kinds else "financier")


def statements(session: Session, *, distributor_id: str, funder: str, through: str) -> list[dict[str, Any]]:
    """Every statement of the funder from its first month through ``through`` (YYYY-MM), in
    order, each with its ``previous_digest`` and ``digest``. ``409 period_not_closed`` while
    ``through`` has not ended in the distributor's time zone."""
    distributor = lookup.require_distributor(session, distributor_id)
    tz, cur = distributor.timezone, distributor.currency
    year, month = parse_period(through)
    end = _start(*_next(year, month), tz)
    if clock.now() < end:
        raise PeriodNotClosed(f"{through} has not ended at {distributor_id!r} ({tz})", period=through)
    who = funder_of(session, distributor_id, funder)
    on_lines = select(Line.id).where(who.lines(distributor_id)).scalar_subquery()  # past and present
    first_at = session.scalar(
        select(func.min(LedgerEntry.at)).where(
            LedgerEntry.distributor_id == distributor_id, LedgerEntry.line_id.in_(on_lines)
        )
    )
    if first_at is None or first_at >= end:
        raise NotFound(f"{funder!r} has no statement at {distributor_id!r} for {through} (its lines start later)")
    first = clock.local_date(first_at, tz)
    months: list[tuple[int, int]] = [(first.year, first.month)]
    while months[-1] != (year, month):
        months.append(_next(*months[-1]))
    starts = [_start(y, m, tz) for y, m in months[1:]]

    def bucket(column: Any) -> Any:  # the month of an instant, as its index in ``months``
        return case(*[(column < at, i) for i, at in enumerate([*starts, end])], else_=len(starts))

    entry_bucket = bucket(LedgerEntry.at).label("b")
    moves = session.execute(
        select(
            LedgerEntry.reseller_id,
            entry_bucket,
            LedgerEntry.kind,
            func.sum(func.coalesce(LedgerEntry.drawn_delta_minor, 0)),
            func.count(),
        )
        .where(LedgerEntry.distributor_id == distributor_id, LedgerEntry.line_id.in_(on_lines), LedgerEntry.at < end)
        .group_by(LedgerEntry.reseller_id, entry_bucket, LedgerEntry.kind)
    ).all()
    claim_bucket = bucket(Claim.created_at).label("b")
    opened = session.execute(
        select(Claim.reseller_id, claim_bucket, func.count(), func.sum(Claim.amount_minor))
        .where(Claim.distributor_id == distributor_id, who.claims(), Claim.created_at < end)
        .group_by(Claim.reseller_id, claim_bucket)
    ).all()
    per_month: list[dict[str, _Row]] = [{} for _ in months]
    for reseller_id, b, kind, delta, count in moves:
        row = per_month[int(b)].setdefault(reseller_id, _Row())
        row.touched = True
        delta = int(delta or 0)
        if kind in COUNTED:
            row.counts[COUNTED[kind]] += int(count)
            if kind == "line_opened":
                row.net_opened += int(count)
            elif kind in ("line_expired", "line_revoked"):
                row.net_opened -= int(count)
        if kind == "written_off":
            row.moves["written_off"] -= delta
        elif kind in ("drawn_transferred_out", "drawn_transferred_in"):
            row.moves["transferred"] -= delta
        elif kind == "release_applied" or delta < 0:
            row.moves["released"] -= delta
        elif delta > 0:
            row.moves["drawn"] += delta
    for reseller_id, b, count, amount in opened:
        row = per_month[int(b)].setdefault(reseller_id, _Row())
        row.counts["claims_opened"] += int(count)
        row.claims_minor += int(amount or 0)
    result: list[dict[str, Any]] = []
    carried: dict[str, tuple[int, int]] = {}  # reseller -> (closing drawn, lines open)
    previous: str | None = None
    for (y, m), rows in zip(months, per_month, strict=True):
        for reseller_id, (closing, active) in carried.items():
            row = rows.setdefault(reseller_id, _Row())
            row.opening, row.active_start = closing, active
        # A reseller with a line of the funder in the month: open at its start, or moved in it.
        present = {
            r: row
            for r, row in rows.items()
            if row.touched or row.opening or row.active_start > 0 or row.counts["claims_opened"]
        }
        document = _document(distributor_id, who, cur, tz, y, m, present, previous)
        previous = document["digest"]
        result.append(document)
        carried = {r: (row.closing, row.active_start + row.net_opened) for r, row in rows.items()}
    return result


def _document(
    distributor_id: str,
    who: Funder,
    cur: str,
    tz: str,
    year: int,
    month: int,
    rows: dict[str, _Row],
    previous: str | None,
) -> dict[str, Any]:
    ny, nm = _next(year, month)
    amount_str = _amounts(cur)
    lines = []
    totals = dict.fromkeys(AMOUNTS, 0) | dict.fromkeys(COUNTS, 0) | {"claims_opened_amount": 0}
    for reseller_id in sorted(rows):
        row = rows[reseller_id]
        values = {"opening_drawn": row.opening, **row.moves, "closing_drawn": row.closing}
        for name, value in values.items():
            totals[name] += value
        for name, value in row.counts.items():
            totals[name] += value
        totals["claims_opened_amount"] += row.claims_minor
        lines.append(
            {"reseller_id": reseller_id}
            | {name: amount_str(value) for name, value in values.items()}
            | dict(row.counts)
            | {"claims_opened_amount": amount_str(row.claims_minor)}
        )
    statement: dict[str, Any] = {
        "distributor_id": distributor_id,
        "funder": who.id,
        "funder_kind": who.kind,
        "period": f"{year:04d}-{month:02d}",
        "from": date(year, month, 1).isoformat(),
        "until": (date(ny, nm, 1) - timedelta(days=1)).isoformat(),
        "time_zone": tz,
        "currency": cur,
        "resellers": lines,
        "totals": {"resellers": len(lines)}
        | {name: amount_str(totals[name]) for name in (*AMOUNTS, "claims_opened_amount")}
        | {name: totals[name] for name in COUNTS},
        "previous_digest": previous,
    }
    statement["digest"] = digest_of(statement)
    return statement


def statement(session: Session, *, distributor_id: str, funder: str, period: str) -> dict[str, Any]:
    """One month's statement (the chain before it computed to give its ``previous_digest``)."""
    return statements(session, distributor_id=distributor_id, funder=funder, through=period)[-1]


@dataclass(frozen=True)
class StatementRow:
    """One CSV row (a reseller, or ``TOTAL``)."""

    reseller_id: str
    opening_drawn: str = field(metadata=AMOUNT)
    drawn: str = field(metadata=AMOUNT)
    released: str = field(metadata=AMOUNT)
    transferred: str = field(metadata=AMOUNT)
    written_off: str = field(metadata=AMOUNT)
    closing_drawn: str = field(metadata=AMOUNT)
    lines_granted: int
    lines_extended: int
    lines_expired: int
    lines_revoked: int
    claims_opened: int
    claims_opened_amount: str = field(metadata=AMOUNT)


STATEMENT_FIELDS = list(StatementRow.__dataclass_fields__)


def csv_rows(document: dict[str, Any]) -> list[StatementRow]:
    rows = [StatementRow(**line) for line in document["resellers"]]
    totals = {k: v for k, v in document["totals"].items() if k != "resellers"}
    rows.append(StatementRow(reseller_id="TOTAL", **totals))
    return rows

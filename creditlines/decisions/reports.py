"""The cover-cuts listing (SPEC §12): the list a distributor shares when a vendor asks whom to help.

One row per reseller whose insurer cover was cut by a decision dated on or after ``since``
(cover before the first such cut, cover after the last decision recorded), with the date the last
cut takes effect and whether it is still scheduled (SPEC §19: the list a vendor uses to step in
before the date), its base limit, what it has drawn, and the vendor lines it holds.
JSON, or CSV through the listings' writer that neutralises text cells.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.csvdoc import AMOUNT
from creditlines.decisions.models import InsuranceCover
from creditlines.decisions.policy import effective_day
from creditlines.errors import ValidationFailed
from creditlines.ledger.models import Line, Reseller
from creditlines.money import amount_str
from creditlines.tenants import lookup


@dataclass(frozen=True)
class CoverCutRow:
    reseller_id: str
    reseller_name: str
    status: str
    insurer: str
    cut_on: str
    cover_before: str = field(metadata=AMOUNT)
    cover_after: str = field(metadata=AMOUNT)
    base_limit: str = field(metadata=AMOUNT)
    total_drawn: str = field(metadata=AMOUNT)
    vendor_lines_limit: str = field(metadata=AMOUNT)
    vendor_funders: str
    over_limit: bool
    currency: str
    effective_on: str  # last in the CSV: older consumers read the columns they knew by position
    scheduled: bool


COVER_CUT_FIELDS = list(CoverCutRow.__dataclass_fields__)


def cover_cuts(session: Session, *, distributor_id: str, since: date) -> Iterator[CoverCutRow]:
    """Resellers whose cover was cut since ``since`` and is still below what it was, by reseller id."""
    distributor = lookup.require_distributor(session, distributor_id)
    if since > clock.local_today(distributor.timezone):
        raise ValidationFailed("since must not be later than the distributor's local today")
    cur = distributor.currency
    cut_ids = (
        select(InsuranceCover.reseller_id)
        .where(
            InsuranceCover.distributor_id == distributor_id,
            InsuranceCover.decided_on >= since,
            InsuranceCover.previous_cover_minor.is_not(None),
            InsuranceCover.cover_minor < InsuranceCover.previous_cover_minor,
        )
        .distinct()
    )
    rows = session.scalars(
        select(InsuranceCover)
        .where(InsuranceCover.distributor_id == distributor_id, InsuranceCover.reseller_id.in_(cut_ids))
        .order_by(InsuranceCover.reseller_id, InsuranceCover.seq)
    ).all()
    by_reseller: dict[str, list[InsuranceCover]] = {}
    for row in rows:
        by_reseller.setdefault(row.reseller_id, []).append(row)
    today = clock.local_today(distributor.timezone)
    for reseller_id, history in by_reseller.items():
        cuts = [
            h
            for h in history
            if h.decided_on >= since and h.previous_cover_minor is not None and h.cover_minor < h.previous_cover_minor
        ]
        before, now = cuts[0].previous_cover_minor, history[-1]
        assert before is not None
        if now.cover_minor >= before:
            continue  # cut, then restored
        reseller = session.get(Reseller, (distributor_id, reseller_id))
        assert reseller is not None
        lines = session.scalars(
            select(Line).where(Line.distributor_id == distributor_id, Line.reseller_id == reseller_id)
        ).all()
        current = [
            line
            for line in lines
            if line.status == "active" and (line.valid_until is None or line.valid_until >= today)
        ]
        base = next(line for line in lines if line.kind == "base")
        vendor = [line for line in current if line.kind == "programme"]
        drawn = sum(line.drawn_minor for line in lines)
        limit = sum(line.limit_minor for line in current)
        yield CoverCutRow(
            reseller_id,
            reseller.name,
            reseller.status,
            now.insurer,
            cuts[-1].decided_on.isoformat(),
            amount_str(before, cur),
            amount_str(now.cover_minor, cur),
            amount_str(base.limit_minor, cur),
            amount_str(drawn, cur),
            amount_str(sum(line.limit_minor for line in vendor), cur),
            " ".join(sorted({line.funder for line in vendor})),
            drawn > limit,
            cur,
            effective_day(cuts[-1]).isoformat(),
            effective_day(cuts[-1]) > today,
        )

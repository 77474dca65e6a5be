"""Read-only queries for people browsing a distributor's book (the console): a reseller search
and the ledger newest first. Keyset pagination only, every query bounded by its page size.

The search walks the reseller primary key ``(distributor_id, id)`` in order from the cursor
and stops at the page size: an id prefix is a range on that index; a name fragment is a
filter applied while walking it (no index holds names; a distributor's book is walked at most
once over all its pages). Totals come from the same ``eligibility.totals`` as every other view.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines import eligibility as elig
from creditlines.errors import ValidationFailed
from creditlines.ledger import repository as repo
from creditlines.ledger.models import LedgerEntry, Reseller
from creditlines.ledger.views import ResellerSummary
from creditlines.tenants.lookup import require_distributor

QUERY_MAX = 100


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_resellers(
    session: Session,
    *,
    distributor_id: str,
    query: str | None,
    after: str | None,
    limit: int,
    status: str | None = None,
    over_limit: bool | None = None,
) -> list[ResellerSummary]:
    """Resellers whose id starts with ``query`` or whose name contains it (case-insensitive),
    by id after ``after``, at most ``limit``, with their totals on today's local date."""
    distributor = require_distributor(session, distributor_id)
    if not 1 <= limit <= 501:
        raise ValidationFailed("limit must be between 1 and 501")
    if status is not None and status not in ("active", "on_hold", "terminated"):
        raise ValidationFailed("status must be active, on_hold or terminated")
    day = clock.local_today(distributor.timezone)
    stmt = select(Reseller).where(Reseller.distributor_id == distributor_id)
    text = (query or "").strip()
    if text:
        validation.text(text, "query", max_length=QUERY_MAX)
        pattern = _like_escape(text)
        stmt = stmt.where(
            or_(
                Reseller.id.like(pattern + "%", escape="\\"),
                func.lower(Reseller.name).like("%" + pattern.lower() + "%", escape="\\"),
            )
        )
    if status:
        stmt = stmt.where(Reseller.status == status)
    if over_limit is not None:
        balances = repo.reseller_balances(distributor_id, day)
        stmt = stmt.join(balances, balances.c.reseller_id == Reseller.id)
        over = balances.c.drawn_minor > balances.c.limit_minor
        stmt = stmt.where(over if over_limit else ~over)
    if after is not None:
        stmt = stmt.where(Reseller.id > after)
    resellers = list(session.scalars(stmt.order_by(Reseller.id).limit(limit)))
    lines: dict[str, list[elig.LineState]] = {}
    for row in repo.lines_of_many(session, distributor_id, [r.id for r in resellers]):
        lines.setdefault(row.reseller_id, []).append(row.state())
    return [ResellerSummary(r, distributor.currency, elig.totals(lines.get(r.id, []), day)) for r in resellers]


def recent_entries(
    session: Session, *, distributor_id: str, reseller_id: str, before_seq: int | None, limit: int
) -> list[LedgerEntry]:
    """A reseller's ledger entries newest first, before ``before_seq`` (the primary key's range)."""
    stmt = select(LedgerEntry).where(
        LedgerEntry.distributor_id == distributor_id, LedgerEntry.reseller_id == reseller_id
    )
    if before_seq is not None:
        stmt = stmt.where(LedgerEntry.seq < before_seq)
    return list(session.scalars(stmt.order_by(LedgerEntry.seq.desc()).limit(limit)))

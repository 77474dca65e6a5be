"""Alerts as events, decided from balances the write path already holds (never a ledger scan).

A reseller's utilisation is its total drawn over its total limit (current lines, as the
availability view counts them). Threshold T (70, 85, 100) is *reached* when the limit is
positive and ``drawn * 100 >= T * limit``, or when the limit is 0 and something is drawn. An
event is written when a change takes a threshold from not reached to reached (upward, once per
crossing: it must fall below again to cross again). Over limit is ``drawn > limit``.
The drawing function on PostgreSQL (``creditlines_draw_0005.pg.sql``) applies the same rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from creditlines.eligibility import Totals
from creditlines.events import outbox
from creditlines.events.types import THRESHOLDS, EventType


def reached(drawn: int, limit: int, threshold: int) -> bool:
    return drawn * 100 >= threshold * limit if limit > 0 else drawn > 0


def crossed(before: tuple[int, int], after: tuple[int, int]) -> list[int]:
    """Thresholds crossed upward from (drawn, limit) ``before`` to ``after``."""
    return [t for t in THRESHOLDS if not reached(*before, t) and reached(*after, t)]


def reseller_rows(
    *,
    distributor_id: str,
    reseller_id: str,
    before: Totals,
    after: Totals,
    at: datetime,
    cause: str,
    extra: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The alert events of one change of a reseller's totals."""
    common = {"total_limit_minor": after.limit, "total_drawn_minor": after.drawn, "cause": cause, **(extra or {})}
    rows = [
        outbox.row(
            EventType.RESELLER_UTILISATION_CROSSED,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            at=at,
            data={"threshold": t, **common},
        )
        for t in crossed((before.drawn, before.limit), (after.drawn, after.limit))
    ]
    if after.over_limit and not before.over_limit:
        rows.append(
            outbox.row(
                EventType.RESELLER_OVER_LIMIT,
                distributor_id=distributor_id,
                reseller_id=reseller_id,
                at=at,
                data=common,
            )
        )
    elif before.over_limit and not after.over_limit:
        rows.append(
            outbox.row(
                EventType.RESELLER_BACK_WITHIN_LIMIT,
                distributor_id=distributor_id,
                reseller_id=reseller_id,
                at=at,
                data=common,
            )
        )
    return rows


def reseller_changed(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    before: Totals,
    after: Totals,
    at: datetime,
    cause: str,
    extra: dict[str, Any] | None = None,
) -> None:
    outbox.record_many(
        session,
        reseller_rows(
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            before=before,
            after=after,
            at=at,
            cause=cause,
            extra=extra,
        ),
    )


def programme_rows(
    *, programme: Any, before: tuple[int, int], after: tuple[int, int], at: datetime
) -> list[dict[str, Any]]:
    """Crossings of either budget of a programme: ``before``/``after`` are (beneficiaries,
    total limit of its active lines). A programme without a budget crosses nothing."""
    rows = []
    budgets = (
        ("max_beneficiaries", programme.max_beneficiaries, 0),
        ("max_total_limit", programme.max_total_limit_minor, 1),
    )
    for name, budget, index in budgets:
        if not budget:
            continue
        for t in crossed((before[index], budget), (after[index], budget)):
            used_key = "beneficiaries" if index == 0 else "granted_limit_minor"
            budget_key = "budget" if index == 0 else "budget_minor"
            rows.append(
                outbox.row(
                    EventType.PROGRAMME_UTILISATION_CROSSED,
                    distributor_id=programme.distributor_id,
                    vendor_id=programme.vendor_id,
                    programme_id=programme.id,
                    at=at,
                    data={
                        "programme_id": programme.id,
                        "budget_name": name,
                        "threshold": t,
                        used_key: after[index],
                        budget_key: budget,
                    },
                )
            )
    return rows

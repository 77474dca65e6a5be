"""The statements' chain kept and checked (SPEC §21).

Each statement served is recorded (its digest and previous digest, once: ``funder_statement`` is
append-only). ``creditlines statements verify`` recomputes the funder's chain from the ledger and
reports any difference: a recorded digest that the ledger no longer gives (an entry altered,
added or removed since it was issued), a broken link, or arithmetic that does not close.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.db.engine import is_postgresql
from creditlines.losses import statements
from creditlines.losses.models import FunderStatement
from creditlines.tenants import lookup


def record(session: Session, documents: list[dict[str, Any]]) -> None:
    """Record the digests of statements served (insert-if-absent: the first issue stands)."""
    if not documents:
        return
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    now = clock.now()
    session.execute(
        insert(FunderStatement)
        .values(
            [
                {
                    "distributor_id": d["distributor_id"],
                    "funder": d["funder"],
                    "period": d["period"],
                    "digest": d["digest"],
                    "previous_digest": d["previous_digest"],
                    "issued_at": now,
                }
                for d in documents
            ]
        )
        .on_conflict_do_nothing(index_elements=["distributor_id", "funder", "period"])
    )


def last_closed_period(session: Session, distributor_id: str) -> str:
    today = clock.local_today(lookup.require_distributor(session, distributor_id).timezone)
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


def _closes(values: dict[str, Any]) -> bool:
    d = {k: Decimal(values[k]) for k in statements.AMOUNTS}
    return d["opening_drawn"] + d["drawn"] - d["released"] - d["transferred"] - d["written_off"] == d["closing_drawn"]


def verify(session: Session, *, distributor_id: str, funder: str) -> tuple[int, list[str]]:
    """Recompute the funder's chain through the last closed month; (months checked, differences)."""
    documents = statements.statements(
        session, distributor_id=distributor_id, funder=funder, through=last_closed_period(session, distributor_id)
    )
    problems: list[str] = []
    recorded = {
        row.period: row
        for row in session.scalars(
            select(FunderStatement).where(
                FunderStatement.distributor_id == distributor_id, FunderStatement.funder == funder
            )
        )
    }
    previous: dict[str, Any] | None = None
    for document in documents:
        period = document["period"]
        if statements.digest_of(document) != document["digest"]:
            problems.append(f"{period}: digest does not match the statement")
        if document["previous_digest"] != (previous["digest"] if previous else None):
            problems.append(f"{period}: previous_digest does not match {previous and previous['period']}")
        for line in [*document["resellers"], document["totals"]]:
            if not _closes(line):
                problems.append(f"{period}: {line.get('reseller_id', 'totals')} does not close")
        if previous is not None:
            closing = {r["reseller_id"]: r["closing_drawn"] for r in previous["resellers"]}
            opening = {r["reseller_id"]: r["opening_drawn"] for r in document["resellers"]}
            for reseller_id, amount in closing.items():
                if Decimal(amount) and opening.get(reseller_id) != amount:
                    problems.append(f"{period}: {reseller_id} opens at {opening.get(reseller_id)}, closed at {amount}")
        issued = recorded.pop(period, None)
        if issued is not None and issued.digest != document["digest"]:
            problems.append(f"{period}: issued with digest {issued.digest}, the ledger now gives {document['digest']}")
        if issued is not None and issued.previous_digest != document["previous_digest"]:
            problems.append(f"{period}: issued after {issued.previous_digest}, the chain now gives another")
        previous = document
    for period in sorted(recorded):
        problems.append(f"{period}: issued, but the ledger gives no such statement now")
    return len(documents), problems

"""The demo's past: months of orders, payments and purchase events, driven day by day through
the services with the clock moved, and (``--size large``) the settled history written in bulk
through the journal's set-wise writer (``settled_history``; no events for those orders).
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from moneyed import Money
from rich.console import Console
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from creditlines import clock, ledger
from creditlines.db.engine import UnitOfWork
from creditlines.errors import CreditLinesError
from creditlines.ledger import journal
from creditlines.ledger.models import Reseller
from creditlines.money import from_minor
from creditlines.programmes import purchases


@dataclass
class Stats:
    resellers: int = 0
    orders: int = 0
    refused: int = 0
    payments: int = 0
    enrolled: int = 0
    events: int = 0
    settled: int = 0
    stops: int = 0


def settled_history(
    uow: UnitOfWork, rng: random.Random, begin: datetime, end: datetime, orders: int, stats: Stats, progress: Console
) -> None:
    """Volume for ``--size large``: orders that were drawn on the base line and paid in full
    before the story starts, written in bulk past the services (the same rows and entries
    ``draw`` and ``release`` write: drawing, allocation, release, four ledger entries; not their
    outbox events or alerts), 500 resellers per
    transaction with their sequence. Each reseller's orders follow each other (paid before the
    next), so no line was ever above its limit and every balance is unchanged; ``verify``
    agrees. Spread over the active resellers with a limit, busier where the limit is larger."""
    from creditlines.ledger.models import Allocation, Drawing, Line, Release

    with uow.read() as s:
        accounts = s.execute(
            select(Reseller.distributor_id, Reseller.id, Reseller.ledger_seq, Line.id, Line.limit_minor)
            .join(Line, (Line.distributor_id == Reseller.distributor_id) & (Line.reseller_id == Reseller.id))
            .where(Reseller.status == "active", Line.kind == "base", Line.limit_minor > 0)
            .order_by(Reseller.distributor_id, Reseller.id)
        ).all()
    weights = [math.sqrt(limit) for *_, limit in accounts]
    total = sum(weights)
    counts = [int(orders * w / total + rng.random()) for w in weights]
    span = (end - begin).total_seconds()
    n = 0
    with progress.status("writing settled history") as status:
        for chunk in range(0, len(accounts), 500):
            drawings, allocations, releases, entries = [], [], [], []
            seqs: dict[str, dict[str, int]] = {}
            batch = zip(accounts[chunk : chunk + 500], counts[chunk : chunk + 500], strict=True)
            for (did, rid, seq, line_id, limit), count in batch:
                for at in sorted(begin + timedelta(seconds=rng.random() * span) for _ in range(count)):
                    n += 1
                    ref, pay = f"HX-{n:07d}", f"PAY-H{n:07d}"
                    paid = at + timedelta(seconds=1)
                    cents = max(1, min(limit, int(math.exp(rng.gauss(math.log(1_500), 0.9)) * 100), 6_000_000))
                    drawings.append(
                        dict(
                            distributor_id=did,
                            reseller_id=rid,
                            reference=ref,
                            amount_minor=cents,
                            outstanding_minor=0,
                            vendor_id=None,
                            status="settled",
                            created_at=at,
                            created_by="demo:erp",
                            invoice_date=clock.local_date(at, "Europe/Paris"),
                            due_on=clock.local_date(at, "Europe/Paris") + timedelta(days=45 if did == "etc" else 30),
                        )
                    )
                    allocations.append(
                        dict(
                            distributor_id=did,
                            reseller_id=rid,
                            drawing_reference=ref,
                            line_id=line_id,
                            funder=did,
                            amount_minor=cents,
                            outstanding_minor=0,
                            position=0,
                        )
                    )
                    releases.append(
                        dict(
                            distributor_id=did,
                            reseller_id=rid,
                            drawing_reference=ref,
                            reference=pay,
                            amount_minor=cents,
                            kind="payment",
                            created_at=paid,
                            created_by="demo:erp",
                        )
                    )
                    entry = functools.partial(journal.entry_row, did, rid, actor="demo:erp", drawing_reference=ref)
                    entries += [
                        entry(seq + 1, at=at, kind="drawing_posted", amount_minor=cents),
                        entry(seq + 2, at=at, kind="drawing_allocated", line_id=line_id, drawn_delta_minor=cents),
                        entry(
                            seq + 3,
                            at=paid,
                            kind="release_posted",
                            release_reference=pay,
                            amount_minor=cents,
                            details={"kind": "payment"},
                        ),
                        entry(
                            seq + 4,
                            at=paid,
                            kind="release_applied",
                            line_id=line_id,
                            release_reference=pay,
                            drawn_delta_minor=-cents,
                        ),
                    ]
                    seq += 4
                seqs.setdefault(did, {})[rid] = seq
            with uow.write() as s:
                for table, rows in ((Drawing, drawings), (Allocation, allocations), (Release, releases)):
                    if rows:
                        s.execute(insert(cast(Table, table.__table__)), rows)
                journal.insert_rows(s.connection(), entries)
                for did, sequences in seqs.items():
                    journal.set_sequences(s.connection(), did, sequences)
            stats.settled += len(drawings)
            status.update(f"writing settled history: {stats.settled:,} orders")


def history(
    uow: UnitOfWork,
    rng: random.Random,
    by_distributor: dict[str, list[str]],
    begin: datetime,
    end: datetime,
    orders: int,
    stats: Stats,
    progress: Console,
) -> None:
    """Orders, payments and purchase events, in time order, a day per transaction."""
    span = (end - begin).total_seconds()
    moments = sorted(begin + timedelta(seconds=rng.random() * span) for _ in range(orders))
    all_resellers = [(d, r) for d, rs in by_distributor.items() for r in rs]
    etc_buyers = by_distributor["etc"][:2000]
    open_orders: list[tuple[str, str, str, int]] = []
    day_groups: dict[date, list[datetime]] = {}
    for moment in moments:
        day_groups.setdefault(moment.date(), []).append(moment)
    with progress.status("replaying orders, payments and purchase events") as status:
        for day, day_moments in sorted(day_groups.items()):
            status.update(f"replaying history: {day.isoformat()}")
            with uow.write() as s:
                for moment in day_moments:
                    clock.set_now(moment)
                    _one_day_step(s, rng, all_resellers, etc_buyers, open_orders, moment, stats)
            clock.set_now(None)


def late_payer(reseller_id: str) -> bool:
    """About one reseller in twelve pays late (SPEC §18: their invoices age, some get stopped)."""
    return sum(map(ord, reseller_id)) % 12 == 0


def _one_day_step(
    s: Session,
    rng: random.Random,
    all_resellers: list[tuple[str, str]],
    etc_buyers: list[str],
    open_orders: list[tuple[str, str, str, int]],
    moment: datetime,
    stats: Stats,
) -> None:
    roll = rng.random()
    if roll < 0.08:  # an ETC customer buys Microsoft licences
        rid = rng.choice(etc_buyers)
        category = "office_oem" if rng.random() < 0.6 else "windows_oem"
        amount = Money(str(rng.choice([450, 800, 1000, 1200, 2500, 4000])) + ".00", "EUR")
        stats.events += 1
        try:
            purchases.record_purchase(
                s,
                distributor_id="etc",
                event_id=f"EV-{stats.events:06d}",
                reseller_id=rid,
                vendor_id="microsoft",
                product_category=category,
                amount=amount,
                occurred_at=moment,
                actor="demo:erp",
            )
        except CreditLinesError:
            pass
        return
    if roll < 0.45 and open_orders:  # a payment, a credit note or a cancellation
        i = rng.randrange(len(open_orders))
        did, rid, ref, outstanding = open_orders[i]
        if late_payer(rid) and rng.random() < 0.9:  # they pay one invoice in ten when asked
            return
        minor = outstanding if rng.random() < 0.7 else max(1, outstanding // rng.choice([2, 3, 4]))
        kind = rng.choices(["payment", "credit_note", "cancellation"], [0.85, 0.1, 0.05])[0]
        drawing, _ = ledger.release(
            s,
            distributor_id=did,
            reseller_id=rid,
            drawing_reference=ref,
            reference=f"{kind[:3].upper()}-{stats.payments:06d}",
            amount=from_minor(minor, "EUR"),
            kind=kind,
            actor="demo:erp",
        )
        stats.payments += 1
        left = int(drawing.outstanding.amount * 100)
        if left:
            open_orders[i] = (did, rid, ref, left)
        else:
            open_orders.pop(i)
        return
    did, rid = rng.choice(all_resellers)
    cents = int(min(60_000, math.exp(rng.gauss(math.log(1_500), 0.9))) * 100)
    amount = from_minor(cents, "EUR")
    vendor = rng.choice([None, None, "microsoft", "hp"])
    decision = ledger.check_eligibility(s, distributor_id=did, reseller_id=rid, amount=amount, vendor_id=vendor)
    if not decision.eligible:
        stats.refused += 1
        return
    ref = f"SO-{stats.orders + 1:07d}"
    ledger.draw(
        s, distributor_id=did, reseller_id=rid, reference=ref, amount=amount, vendor_id=vendor, actor="demo:erp"
    )
    stats.orders += 1
    open_orders.append((did, rid, ref, cents))

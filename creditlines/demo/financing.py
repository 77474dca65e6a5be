"""The demo's financing story (SPEC §17): Microsoft Financing at Actebis, a few payments late.

End customers of some Actebis resellers take Microsoft Financing for their order: the ERP records
the financing (48 hours to pay) before the order, which then sits on the financier's line, not on
the reseller's. Most payments come within the 48 hours; about one in five is late: at its due
instant the expiry job moves what is unpaid to the reseller's base line (``financing.overdue``),
and the payment, when it comes, frees the base line. The financings report then says how well
Microsoft Financing kept its promise.

Everything goes through the services, in time order, with the clock moved, as the rest of the demo.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from moneyed import Money
from rich.console import Console
from sqlalchemy import select

from creditlines import clock, ledger
from creditlines.db.engine import UnitOfWork
from creditlines.ledger import financing
from creditlines.ledger.models import Reseller

FINANCIER = "microsoft-financing"
ACTOR = "demo:erp"
LATE_SHARE = 0.2


def microsoft_financing(
    uow: UnitOfWork, seed: int, resellers: list[str], start: datetime, end: datetime, progress: Console, count: int
) -> dict[str, int]:
    """``count`` financed orders at active Actebis resellers between ``start`` and ``end``; returns
    how many were financed, paid on time, and paid late after their move to base."""
    rng = random.Random(f"financing-{seed}")
    with uow.read() as s:
        active = set(
            s.scalars(select(Reseller.id).where(Reseller.distributor_id == "actebis", Reseller.status == "active"))
        )
    chosen = [r for r in resellers if r in active]
    rng.shuffle(chosen)
    steps: list[tuple[datetime, int, Callable[[], None]]] = []
    late = 0
    span = (end - start).total_seconds() - 6 * 24 * 3600
    for n, reseller in enumerate(chosen[:count]):
        at = start + timedelta(seconds=rng.uniform(0, max(span, 3600)))
        amount = Money(f"{rng.randrange(4_000, 30_000)}.00", "EUR")
        order = f"SO-MSF-{n + 1:04d}"
        is_late = rng.random() < LATE_SHARE
        late += is_late
        hours = rng.uniform(60, 110) if is_late else rng.uniform(4, 46)
        steps.append((at, 0, _opened(uow, reseller, n, order, amount)))
        if is_late:
            steps.append((at + timedelta(hours=48, minutes=5), 1, _job(uow)))
        steps.append((at + timedelta(hours=hours), 2, _paid(uow, reseller, order, amount)))
    with progress.status(f"Microsoft Financing carries {min(count, len(chosen))} Actebis orders"):
        for at, _, step in sorted(steps, key=lambda x: (x[0], x[1])):
            with clock.frozen(at):
                step()
    return {"financed": min(count, len(chosen)), "late": late}


def _opened(uow: UnitOfWork, reseller: str, n: int, order: str, amount: Money) -> Callable[[], None]:
    def step() -> None:
        with uow.write() as s:
            financing.create_financing(
                s,
                distributor_id="actebis",
                reseller_id=reseller,
                reference=f"MSF-{n + 1:04d}",
                financier=FINANCIER,
                amount=amount,
                order_reference=order,
                pay_within_hours=48,
                actor=ACTOR,
            )
            ledger.draw(s, distributor_id="actebis", reseller_id=reseller, reference=order, amount=amount, actor=ACTOR)

    return step


def _job(uow: UnitOfWork) -> Callable[[], None]:
    def step() -> None:
        with uow.write() as s:
            financing.move_overdue(s, distributor_id="actebis", actor="job:expiry")

    return step


def _paid(uow: UnitOfWork, reseller: str, order: str, amount: Money) -> Callable[[], None]:
    def step() -> None:
        with uow.write() as s:
            ledger.release(
                s,
                distributor_id="actebis",
                reseller_id=reseller,
                drawing_reference=order,
                reference=f"PAY-{order}",
                amount=amount,
                kind="financier_payment",
                actor=ACTOR,
            )

    return step

"""The nightly job's part in the overdue stop (SPEC §18): announce the stops that began without a
refused drawing (event ``reseller.overdue_stop``, cause ``nightly``) and clear the announced
stops that no longer hold (``reseller.overdue_cleared``; a payment clears its own at once, a
loosened policy here). The stop itself never waits for this: every drawing checks it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.db.engine import UnitOfWork
from creditlines.ledger import terms
from creditlines.ledger.models import Drawing, Reseller
from creditlines.ledger.repository import get_reseller


def stopped_reseller_ids(session: Session, *, distributor_id: str, day: date, stop: terms.OverdueStop) -> list[str]:
    """Resellers whose outstanding more than ``after_days`` overdue on ``day`` is ≥ the minimum."""
    beyond = func.sum(Drawing.outstanding_minor)
    rows = session.execute(
        select(Drawing.reseller_id)
        .where(
            Drawing.distributor_id == distributor_id,
            Drawing.outstanding_minor > 0,
            Drawing.due_on < day - timedelta(days=stop.after_days),
        )
        .group_by(Drawing.reseller_id)
        .having(beyond > 0, beyond >= stop.min_minor)
        .order_by(Drawing.reseller_id)
    ).all()
    return [r for (r,) in rows]


def run_overdue_stops(uow: UnitOfWork, *, distributor_id: str, day: date) -> tuple[int, int]:
    """(stops announced, stops cleared) at one distributor on local date ``day``; each reseller in
    its own short transaction, under its lock."""
    with uow.read() as s:
        policy = terms.policy_of(s, distributor_id)
        stopped = (
            []
            if policy.overdue_stop is None
            else stopped_reseller_ids(s, distributor_id=distributor_id, day=day, stop=policy.overdue_stop)
        )
        announced = s.scalars(
            select(Reseller.id).where(
                Reseller.distributor_id == distributor_id, Reseller.overdue_stop_since.is_not(None)
            )
        ).all()
    started = cleared = 0
    for reseller_id in stopped:
        with uow.write() as s:
            reseller = get_reseller(s, distributor_id, reseller_id, lock=True)
            stop = terms.policy_of(s, distributor_id).overdue_stop
            amount = terms.stop_amount(s, distributor_id, reseller_id, day, stop)
            if reseller is not None and stop is not None and amount is not None:
                started += terms.stop_found(
                    s, reseller, overdue_minor=amount, stop=stop, at=clock.now(), cause="nightly"
                )
    for reseller_id in set(announced) - set(stopped):
        with uow.write() as s:
            reseller = get_reseller(s, distributor_id, reseller_id, lock=True)
            if reseller is not None:
                cleared += terms.maybe_cleared(s, reseller, day=day, at=clock.now(), cause="nightly")
    return started, cleared

"""The nightly expiry job: materialise what already holds (a line past its end gives no
headroom from that instant) — mark the line expired, apply ``on_expiry``, write the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock, ledger, metrics
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.jobs import nightly_events as nightly
from creditlines.jobs import overdue
from creditlines.ledger import financing, held
from creditlines.ledger import repository as repo
from creditlines.ledger.models import Line


@dataclass(frozen=True)
class ResellerExpiry:
    lines_expired: int
    minor_transferred: int
    over_limit: bool


def due_reseller_ids(
    session: Session, *, distributor_id: str, day: date, limit: int = 1000, after: str = ""
) -> list[str]:
    """Resellers (after ``after``, by id) with an active line whose ``valid_until`` is before ``day``."""
    stmt = (
        select(Line.reseller_id)
        .where(
            Line.distributor_id == distributor_id,
            Line.status == "active",
            Line.valid_until.is_not(None),
            Line.valid_until < day,
            Line.reseller_id > after,
        )
        .distinct()
        .order_by(Line.reseller_id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def expire_batch(
    session: Session, *, distributor_id: str, reseller_ids: list[str], day: date, actor: str = "job:expiry"
) -> list[ResellerExpiry]:
    """Expire the due lines of many resellers in one transaction: the resellers locked in one
    statement, their lines loaded in one, then closed set-wise by ``ledger.close_lines``.

    Resellers and lines are read as plain rows (Core), not ORM objects: the batch only reads
    them, and ``close_lines`` writes set-wise; an identity map of thousands of objects to
    build, then expire, was a fifth of the job's time."""
    resellers = repo.lock_reseller_rows(session, distributor_id, reseller_ids)
    lines = repo.line_rows_of_many(session, distributor_id, [r.id for r in resellers])
    by_reseller: dict[str, list[Line]] = {}
    for line in lines:
        by_reseller.setdefault(line.reseller_id, []).append(line)
    bases = {rid: next(ln for ln in ls if ln.kind == "base") for rid, ls in by_reseller.items()}
    closing = [
        (r, ln)
        for r in resellers
        for ln in by_reseller.get(r.id, [])
        if ln.status == "active" and ln.valid_until is not None and ln.valid_until < day
    ]
    # What each reseller looks like after: for the summary, from the state read under the lock.
    after = {
        r.id: (
            [
                ln
                for ln in by_reseller.get(r.id, [])
                if ln.status == "active"
                and ln.kind != "financing"  # carries one order, never the reseller's totals
                and not (ln.valid_until is not None and ln.valid_until < day)
            ]
        )
        for r in resellers
    }
    drawn_before = {r.id: {ln.id: ln.drawn_minor for ln in after[r.id]} for r in resellers}
    limits = {r.id: sum(ln.limit_minor for ln in after[r.id]) for r in resellers}
    reseller_ids_locked = [r.id for r in resellers]
    totals_before = nightly.totals_before_expiry(reseller_ids_locked, limits, drawn_before, closing)
    expired: dict[str, int] = {}
    for _reseller, line in closing:
        expired[line.reseller_id] = expired.get(line.reseller_id, 0) + 1
    moved = ledger.close_lines(
        session,
        distributor_id=distributor_id,
        closing=closing,
        bases=bases,
        status="expired",
        at=clock.now(),
        actor=actor,
        reason=lambda line: f"valid until {line.valid_until}",
    )
    results = []
    for rid in reseller_ids_locked:
        drawn = sum(drawn_before[rid].values()) + moved.get(rid, 0)
        results.append(ResellerExpiry(expired.get(rid, 0), moved.get(rid, 0), drawn > limits[rid]))
    nightly.expiry_alerts(
        session,
        distributor_id=distributor_id,
        before=totals_before,
        after={rid: (limits[rid], sum(drawn_before[rid].values()) + moved.get(rid, 0)) for rid in reseller_ids_locked},
    )
    return results


# ------------------------------------------------------------------------------ the nightly run


@dataclass
class DistributorExpiry:
    distributor_id: str
    as_of: date
    lines_expired: int = 0
    minor_transferred: int = 0
    resellers_over_limit: int = 0
    resellers_touched: int = 0
    currency: str = "EUR"
    expiring_warnings: int = 0  # line.expiring events written (30 and 7 days before, once each)
    held_released: int = 0  # held orders released by the nightly re-check (SPEC §16)
    held_expired: int = 0  # held orders written expired by it
    financings_overdue: int = 0  # financings past due, moved to base (SPEC §17)
    cover_cuts: int = 0  # base limits lowered by a scheduled insurer cut that took effect (SPEC §19)


class FutureAsOf(ValueError):
    """``--as-of`` later than a distributor's local today: the job never expires a line early."""


def _advisory_key(distributor_id: str) -> int:
    import zlib

    return zlib.crc32(f"creditlines:expiry:{distributor_id}".encode())


def run_expiry(
    uow: UnitOfWork,
    *,
    as_of: date | None = None,
    distributor_id: str | None = None,
    dry_run: bool = False,
    batch_size: int = 500,
    actor: str = "job:expiry",
    on_progress: Callable[[str, int], None] | None = None,
    crash_after_batches: int | None = None,
    workers: int = 2,
) -> list[DistributorExpiry]:
    """Expire, per distributor, every active line whose ``valid_until`` is before the local date
    ``as_of`` (default: the distributor's local today), in batches of resellers, each batch one
    transaction. Idempotent; safe to run twice at once; a crash leaves whole batches done or not.

    ``crash_after_batches`` exists for the tests that prove a crash leaves nothing half-applied.
    """
    from sqlalchemy import text

    from creditlines.db.engine import is_postgresql
    from creditlines.decisions.limit_requests import expire_requests
    from creditlines.jobs.cover_cuts import apply_scheduled_cuts
    from creditlines.tenants import service as tenants

    with uow.read() as s:
        distributors = [d for d in tenants.list_distributors(s) if distributor_id in (None, d.id)]
    if distributor_id and not distributors:
        from creditlines.errors import NotFound

        raise NotFound(f"distributor {distributor_id!r} does not exist")
    for d in distributors:  # refuse before doing anything
        today = clock.local_today(d.timezone)
        if as_of is not None and as_of > today:
            raise FutureAsOf(f"{as_of.isoformat()} is later than {d.id}'s local today {today.isoformat()}")
    reports = []
    for d in distributors:
        day = as_of or clock.local_today(d.timezone)
        report = DistributorExpiry(d.id, day, currency=d.currency)
        guard = None
        if is_postgresql(uow.engine) and not dry_run:
            guard = uow.engine.connect()
            guard.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _advisory_key(d.id)})
        try:
            _expire_distributor(
                uow,
                d.id,
                day,
                report,
                batch_size=batch_size,
                workers=workers,
                actor=actor,
                dry_run=dry_run,
                on_progress=on_progress,
                crash_after_batches=crash_after_batches,
            )
        finally:
            if guard is not None:
                guard.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _advisory_key(d.id)})
                guard.close()
        expire_requests(uow, d.id, day, actor=actor, dry_run=dry_run)  # limit requests past 14 days (SPEC §12)
        report.cover_cuts = len(apply_scheduled_cuts(uow, d.id, day, actor=actor, dry_run=dry_run))  # SPEC §19
        if not dry_run:
            report.expiring_warnings = nightly.run_expiring(uow, distributor_id=d.id, day=day)
            report.financings_overdue = _move_overdue_financings(uow, d.id)
            report.held_released, report.held_expired = _recheck_held_orders(uow, d.id)
            overdue.run_overdue_stops(uow, distributor_id=d.id, day=day)  # SPEC §18
        reports.append(report)
        metrics.EXPIRY_RUNS.labels(d.id, str(dry_run).lower()).inc()
        if not dry_run:
            metrics.EXPIRY_LINES.labels(d.id).inc(report.lines_expired)
            metrics.EXPIRY_TRANSFERRED.labels(d.id).inc(report.minor_transferred)
    return reports


@retry_transient
def _move_overdue_financings(uow: UnitOfWork, distributor_id: str) -> int:
    """Financings past their due instant, unpaid: the rest moves to base (SPEC §17)."""
    with uow.write() as s:
        return financing.move_overdue(s, distributor_id=distributor_id)


@retry_transient
def _recheck_held_orders(uow: UnitOfWork, distributor_id: str) -> tuple[int, int]:
    """Every held order of the distributor re-checked (SPEC §16): released if it fits now,
    written expired past its hold_days. Each reseller under its lock, in id order."""
    with uow.write() as s:
        outcome = held.run_held_orders(s, distributor_id=distributor_id)
    return len(outcome.released), len(outcome.expired)


def _expire_distributor(
    uow: UnitOfWork,
    distributor_id: str,
    day: date,
    report: DistributorExpiry,
    *,
    batch_size: int,
    workers: int,
    actor: str,
    dry_run: bool,
    on_progress: Callable[[str, int], None] | None,
    crash_after_batches: int | None,
) -> None:
    """Batches of due resellers (keyset by reseller id), each its own transaction, on ``workers``
    threads with their own connections; at most ``2 × workers`` batches in flight (flat memory)."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    @retry_transient
    def one_batch(reseller_ids: list[str]) -> list[ResellerExpiry]:
        with uow.write() as s:
            results = expire_batch(s, distributor_id=distributor_id, reseller_ids=reseller_ids, day=day, actor=actor)
            if dry_run:
                s.rollback()
        return results

    def account(results: list[ResellerExpiry], size: int) -> None:
        for result in results:
            if result.lines_expired:
                report.lines_expired += result.lines_expired
                report.minor_transferred += result.minor_transferred
                report.resellers_touched += 1
                report.resellers_over_limit += int(result.over_limit)
        if on_progress:
            on_progress(distributor_id, size)

    after, done, pending = "", 0, {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        while True:
            with uow.read() as s:
                due = due_reseller_ids(s, distributor_id=distributor_id, day=day, limit=batch_size, after=after)
            if due:
                after = due[-1]
                pending[pool.submit(one_batch, due)] = len(due)
            if pending and (not due or len(pending) >= 2 * max(1, workers)):
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    account(future.result(), pending.pop(future))  # re-raises a batch's failure
                    done += 1
                    if crash_after_batches is not None and done >= crash_after_batches:
                        for other in pending:
                            other.cancel()
                        raise RuntimeError("injected crash")
            if not due and not pending:
                return


def count_due(uow: UnitOfWork, *, as_of: date | None = None) -> int:
    from sqlalchemy import func

    from creditlines.tenants import service as tenants

    total = 0
    with uow.read() as s:
        for d in tenants.list_distributors(s):
            day = as_of or clock.local_today(d.timezone)
            total += (
                s.scalar(
                    select(func.count())
                    .select_from(Line)
                    .where(
                        Line.distributor_id == d.id,
                        Line.status == "active",
                        Line.valid_until.is_not(None),
                        Line.valid_until < day,
                    )
                )
                or 0
            )
    return total

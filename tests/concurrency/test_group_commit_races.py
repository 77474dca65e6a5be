"""Group commit under races (issue 26), on PostgreSQL.

* Two grouped calls (``creditlines_draw_many``) naming the same resellers in opposite orders, and
  the nightly expiry job's batch over the same resellers (it locks them in id order, as every
  batch path does: ``repository.lock_reseller_rows``), from three threads at once, round after
  round: ``creditlines_draw_many`` locks every reseller named in (distributor, id) order before
  its first drawing, so none of the three ever deadlocks another — not one deadlock, not even one
  the retry would have hidden (all go through ``retry_transient`` and every transient failure is
  counted). No reseller ends over its limit, each reseller gets exactly the drawings that fit,
  and ``verify`` and every invariant hold.
  Reintroduced bugs and what caught them (2026-12-06): no lock before the drawings (each drawing
  locking its reseller in array order) → 38 deadlocks in 50 rounds here, and retried deadlocks in
  the server's log below; the resellers locked in descending id order → 4 to 9 deadlocks per run,
  with the expiry batch and through it between the grouped calls.
* Through the real two-worker server, group commit on (the default): many drawings of EUR 1.00 at
  once on two resellers with exactly EUR 100.00 left each: exactly 100 accepted on each, the rest
  refused ``insufficient_credit``, nothing overdrawn, ``creditlines verify`` exits 0, and the
  server's ``/metrics`` shows calls that carried more than one drawing.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from moneyed import Money
from sqlalchemy import func, select

from creditlines import clock, ledger
from creditlines.db.engine import UnitOfWork, make_engine
from creditlines.db.retry import is_transient, retry_transient, sqlstate
from creditlines.jobs.expiry import expire_batch
from creditlines.ledger.desk import DRAW_COLUMNS, DRAW_MANY_PG
from creditlines.ledger.drawings import DrawingRequest
from creditlines.ledger.models import Allocation, Line
from creditlines.ledger.verify import verify
from creditlines.tenants.lookup import require_distributor
from creditlines.tenants.service import create_distributor
from tests.concurrency.scenario import ADMIN, NOW, TODAY, Scenarios, eur
from tests.harness import app_url, libpq_url, serve, verify_cli
from tests.invariants import violations

METRICS_TOKEN = "group-commit-metrics-token-0123456789"


@pytest.fixture(scope="module")
def race_server(race_db):
    """The matrix's two-worker server (tests/concurrency/conftest.py), /metrics on behind a token."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CREDITLINES_METRICS_TOKEN", METRICS_TOKEN)
        env.delenv("CREDITLINES_GROUP_COMMIT", raising=False)  # on by default
        env.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)  # `creditlines serve` makes one
        with serve(app_url(race_db), admin_key=ADMIN, now=NOW, workers=2) as running:
            yield running


# ---------------------------------------------------------------------------- two grouped calls

RESELLERS = [f"K{n}" for n in range(6)]
ROUNDS = 50
AMOUNT = 7  # EUR: 142 drawings of 7 fit in a base limit of 1,000 (994), the 143rd does not
TIMES = 2  # each call names each reseller twice


@pytest.mark.slow
@pytest.mark.parametrize("skip_first", [False, True], ids=["waiting", "skipping-then-waiting"])
def test_grouped_calls_in_opposite_orders_never_deadlock(race_db, skip_first):
    """``waiting``: every call waits for its locks (the waiting lane's calls). ``skipping-then-
    waiting``: as GroupCommit does, each call first skips the resellers held elsewhere, then posts
    the drawings skipped in a second call that waits."""
    D = f"gc-threads-{'skip' if skip_first else 'wait'}"
    clock.set_now(NOW)  # for every thread (the clock is the process's)
    uow = UnitOfWork(make_engine(race_db, pool_size=2))
    with uow.write() as s:
        create_distributor(s, id=D, name="Group commit", currency="EUR", timezone="Europe/Paris")
        for r in RESELLERS:
            ledger.upsert_reseller(s, distributor_id=D, reseller_id=r, name=r, actor="seed")
            ledger.set_base_limit(
                s, distributor_id=D, reseller_id=r, limit=Money("1000", "EUR"), reason="opening", actor="seed"
            )
        distributor = require_distributor(s, D)

    def arrays(side: int, i: int) -> dict[str, list[Any]]:
        """Side 0 names the resellers K0…K5 K0…K5, side 1 K5…K0 K5…K0: the same rows, opposite orders."""
        order = (RESELLERS if side == 0 else RESELLERS[::-1]) * TIMES
        params = [
            DrawingRequest.of(
                distributor,
                reseller_id=r,
                reference=f"S{side}-{i}-{n}",
                amount=Money(AMOUNT, "EUR"),
                vendor_id=None,
                actor="erp",
            ).params()
            for n, r in enumerate(order)
        ]
        return {name: [p[name] for p in params] for name in DRAW_COLUMNS}

    transient: Counter[str] = Counter()
    skipped_here = [0]
    outcomes: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(3)

    @retry_transient
    def expiry_batch() -> None:
        try:
            with uow.write() as s:
                expire_batch(s, distributor_id=D, reseller_ids=RESELLERS, day=TODAY)
        except Exception as exc:
            if is_transient(exc):
                with lock:
                    transient[f"expiry {sqlstate(exc)}"] += 1
            raise

    def run(side: int) -> None:
        if side == 2:  # the nightly job's batch, locking the same resellers in id order
            for _ in range(ROUNDS):
                barrier.wait(timeout=60)
                expiry_batch()
            return
        with psycopg.connect(libpq_url(app_url(race_db)), autocommit=True) as conn:

            @retry_transient
            def call(params: dict[str, list[Any]], wait: bool) -> list[tuple[int, dict[str, Any] | None]]:
                try:
                    return conn.execute(DRAW_MANY_PG, {**params, "wait": wait}).fetchall()
                except psycopg.Error as exc:
                    if is_transient(exc):
                        with lock:
                            transient[f"grouped {sqlstate(exc)}"] += 1
                    raise

            for i in range(ROUNDS):
                params = arrays(side, i)
                barrier.wait(timeout=60)
                rows = call(params, wait=not skip_first)
                assert [position for position, _ in rows] == list(range(1, TIMES * len(RESELLERS) + 1))
                answers = [outcome for _, outcome in rows]
                left = [n for n, outcome in enumerate(answers) if outcome is None]  # skipped: held elsewhere
                if left:
                    assert skip_first, rows
                    again = call({name: [values[n] for n in left] for name, values in params.items()}, wait=True)
                    for (_, outcome), n in zip(again, left, strict=True):
                        answers[n] = outcome
                with lock:
                    skipped_here[0] += len(left)
                    for outcome, r in zip(answers, params["r"], strict=True):
                        assert outcome is not None
                        outcomes[(r, outcome["outcome"])] += 1

    def run_or_abort(side: int) -> None:
        try:
            run(side)
        except BaseException:
            barrier.abort()  # the other sides stop at their next round instead of waiting out the timeout
            raise

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(run_or_abort, (0, 1, 2)))  # an error (ConcurrentUpdate after the retries included) fails here

    assert not transient, f"transactions aborted and retried: {dict(transient)}"
    if skip_first:  # the race did meet: calls found resellers held by the other side or the job
        assert skipped_here[0] > 0
    per_reseller = 2 * TIMES * ROUNDS  # 200
    fits = 1000 // AMOUNT  # 142
    for r in RESELLERS:
        assert outcomes[(r, "created")] == fits, (r, outcomes)
        assert outcomes[(r, "insufficient_credit")] == per_reseller - fits, (r, outcomes)
    with uow.snapshot() as s:
        drawn = dict(
            s.execute(
                select(Line.reseller_id, func.sum(Line.drawn_minor))
                .where(Line.distributor_id == D)
                .group_by(Line.reseller_id)
            ).all()
        )
        allocated = dict(
            s.execute(
                select(Allocation.reseller_id, func.sum(Allocation.outstanding_minor))
                .where(Allocation.distributor_id == D)
                .group_by(Allocation.reseller_id)
            ).all()
        )
        differences = verify(s, distributor_id=D)
    assert drawn == allocated == {r: fits * AMOUNT * 100 for r in RESELLERS}  # 994.00 of 1,000.00 each
    assert differences == []
    assert violations(race_db, now=clock.parse_instant(NOW), distributor_id=D) == []
    uow.dispose()


# ---------------------------------------------------------------------------- through the server

HOT = ("HOT-1", "HOT-2")
REQUESTS_PER_RESELLER = 130
THREADS = 48


def _grouped_calls(metrics_text: str) -> float:
    """Calls that carried more than one drawing: all calls minus those of size 1 (bucket le=1)."""

    def sample(pattern: str) -> float:
        found = re.search(rf"^{pattern} (\S+)$", metrics_text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    return sample(r"creditlines_group_commit_size_count") - sample(r'creditlines_group_commit_size_bucket\{le="1\.0"\}')


@pytest.mark.slow
def test_last_euros_through_the_server_with_group_commit(scenarios: Scenarios):
    sc = scenarios.create("group-commit-last-euros", rounds=1)
    with clock.frozen(NOW), sc.world.uow.write() as s:
        for r in HOT:
            ledger.upsert_reseller(s, distributor_id=sc.d, reseller_id=r, name=r, actor="seed")
            ledger.set_base_limit(
                s, distributor_id=sc.d, reseller_id=r, limit=Money("1000", "EUR"), reason="opening", actor="seed"
            )
            ledger.draw(  # 900 of 1,000 drawn: EUR 100.00 left, for 100 drawings of EUR 1.00
                s, distributor_id=sc.d, reseller_id=r, reference="FILL", amount=Money("900", "EUR"), actor="seed"
            )
    metrics = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    before = _grouped_calls(sc.world.client.get("/metrics", headers=metrics).text)

    jobs = [(HOT[n % 2], f"EUR1-{n}") for n in range(2 * REQUESTS_PER_RESELLER)]
    barrier = threading.Barrier(THREADS)

    def run(t: int) -> None:
        barrier.wait(timeout=60)
        for reseller, reference in jobs[t::THREADS]:
            sc.call(
                "drawing",
                "POST",
                f"/v1/distributors/{sc.d}/resellers/{reseller}/drawings",
                "integration",
                {"reference": reference, "amount": eur("1.00")},
            )

    sc.log_offset = os.path.getsize(sc.world.server.log_path)  # the server's log from here on
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(run, range(THREADS)))

    problems = sc.problems()  # no 5xx, no retried transaction, every invariant, verify
    assert not problems, "\n".join(problems + [f"answers: {sc.tally()}"])
    for r in HOT:
        answers = Counter((a.status, a.code) for a in sc.answers if f"/resellers/{r}/" in a.path)
        assert answers == {(201, None): 100, (409, "insufficient_credit"): REQUESTS_PER_RESELLER - 100}, (r, answers)
        with sc.world.uow.read() as s:
            view = ledger.availability(s, distributor_id=sc.d, reseller_id=r, as_of=None)
        assert (view.total_drawn, view.total_limit) == (Money("1000", "EUR"), Money("1000", "EUR")), view
        assert not view.over_limit
    accepted = [a for a in sc.answers if a.status == 201]
    assert all('"amount":"1.00"' in a.detail.replace(" ", "") for a in accepted), accepted[:3]
    checked = verify_cli(sc.world.server.database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    grouped = _grouped_calls(sc.world.client.get("/metrics", headers=metrics).text) - before
    assert grouped > 0, "no call carried more than one drawing: group commit never grouped"

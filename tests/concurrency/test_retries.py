"""A deadlock or a serialization failure is retried inside the service, and when it keeps
happening the caller gets ``409 concurrent_update`` — never ``503`` (the database is reachable).

Real PostgreSQL errors, not mocks: a deadlock between two transactions that lock two resellers in
opposite orders (which no write path of the product does: the lock order forbids it), and a
serialization failure raised by the server itself on every attempt.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import ATTEMPTS, retry_transient, sqlstate
from creditlines.errors import ConcurrentUpdate
from tests.factories import make_reseller, make_world

LOCK = "SELECT 1 FROM reseller WHERE distributor_id = 'actebis' AND id = :r FOR NO KEY UPDATE"


def test_a_deadlock_is_retried_and_both_transactions_commit(pg_only_engine) -> None:
    uow = UnitOfWork(pg_only_engine)
    make_world(uow)
    for reseller_id in ("R-A", "R-B"):
        make_reseller(uow, reseller_id, "1000.00")
    attempts: Counter[str] = Counter()
    both_hold_their_first_lock = threading.Barrier(2, timeout=10)

    def locker(name: str, first: str, second: str) -> str:
        @retry_transient
        def transaction() -> str:
            attempts[name] += 1
            with uow.write() as s:
                s.execute(text(LOCK), {"r": first})
                if attempts[name] == 1:  # the first attempt of each waits for the other: a cycle
                    both_hold_their_first_lock.wait()
                s.execute(text(LOCK), {"r": second})
            return name

        return transaction()

    results: dict[str, str | BaseException] = {}

    def run(name: str, first: str, second: str) -> None:
        try:
            results[name] = locker(name, first, second)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    threads = [
        threading.Thread(target=run, args=("one", "R-A", "R-B")),
        threading.Thread(target=run, args=("two", "R-B", "R-A")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == {"one": "one", "two": "two"}  # both committed, the loser after a retry
    assert sorted(attempts.values()) == [1, 2]  # PostgreSQL chose one victim; it ran again once


def test_a_failure_that_persists_is_409_concurrent_update_after_the_bounded_attempts(pg_only_engine) -> None:
    uow = UnitOfWork(pg_only_engine)
    attempts = 0

    @retry_transient
    def always_aborted() -> None:
        nonlocal attempts
        attempts += 1
        with uow.write() as s:
            s.execute(text("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$"))

    with pytest.raises(ConcurrentUpdate) as refused:
        always_aborted()
    assert attempts == ATTEMPTS
    assert refused.value.code == "concurrent_update"
    assert sqlstate(refused.value.__cause__) == "40001"  # the database's own error, kept as the cause

    from api.problems import STATUS

    assert STATUS[ConcurrentUpdate] == 409  # a collision, not "the database cannot be reached" (503)


def test_other_database_errors_are_not_retried(pg_only_engine) -> None:
    uow = UnitOfWork(pg_only_engine)
    attempts = 0

    @retry_transient
    def broken() -> None:
        nonlocal attempts
        attempts += 1
        with uow.write() as s:
            s.execute(text("DO $$ BEGIN RAISE EXCEPTION 'no' USING ERRCODE = 'lock_not_available'; END $$"))

    with pytest.raises(OperationalError):
        broken()
    assert attempts == 1

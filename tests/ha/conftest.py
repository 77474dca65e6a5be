"""tests/ha/ starts private PostgreSQL clusters on local ports (a pg_auto_failover formation, a
primary and its streaming standby). Its modules never run at the same time, even in two
pytest-xdist workers: each holds an exclusive lock on a file that all the run's workers share
while its tests run (the other waits)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module", autouse=True)
def one_cluster_test_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # A worker's base temporary directory is <the run's>/popen-gwN: its parent is the run's.
    lock = tmp_path_factory.getbasetemp().parent / "creditlines-ha.lock"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield

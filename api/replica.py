"""The read replica's probe: every few seconds each worker measures the replica's lag for
/metrics (``creditlines_read_replica_lag_seconds``, ``creditlines_read_replica_up``) and, when the
replica stops answering, marks it down so that its reads go to the primary (creditlines.db.replica)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.concurrency import run_in_threadpool

from creditlines.db.engine import UnitOfWork

log = logging.getLogger("creditlines.api")

PROBE_EVERY_S = 5.0


async def _probe(uow: UnitOfWork) -> None:
    replica = uow.replica_set
    assert replica is not None
    while True:
        try:
            await run_in_threadpool(replica.measure_lag)
        except Exception:
            log.exception("read replica probe failed")
        await asyncio.sleep(PROBE_EVERY_S)


def start_replica_probe(uow: UnitOfWork) -> asyncio.Task[None] | None:
    if uow.replica_set is None:
        return None
    return asyncio.create_task(_probe(uow), name="creditlines-replica-probe")


async def stop_replica_probe(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

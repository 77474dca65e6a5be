"""Deadlocks and serialization failures are retried inside the service, never shown as an outage.

The lock order (partnership, then programmes by id, then resellers by id) makes deadlocks between
our own write paths impossible by construction; what may still happen (a lock taken by an
operator's session, a future path that breaks the order) is retried here: the whole transaction
again, from its first read, a few times with a short jittered pause. If it still fails the caller
gets ``409 concurrent_update`` (retry the same request; references make that safe), never
``503 database_unavailable``, which means the database cannot be reached.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from creditlines.errors import ConcurrentUpdate

log = logging.getLogger("creditlines.db")

ATTEMPTS = 5
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected

P = ParamSpec("P")
T = TypeVar("T")


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE behind a psycopg error, raw or wrapped by SQLAlchemy."""
    for candidate in (exc, getattr(exc, "orig", None), exc.__cause__):
        state = getattr(candidate, "sqlstate", None)
        if state:
            return str(state)
    return None


def is_transient(exc: BaseException) -> bool:
    return sqlstate(exc) in TRANSIENT_SQLSTATES


def retry_transient(fn: Callable[P, T]) -> Callable[P, T]:
    """Run ``fn`` (one whole transaction) again when the database aborted it for a deadlock or a
    serialization failure. ``fn`` must own its transaction: nothing it did survives the abort."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - re-raised unless transient
                time.sleep(_pause_or_raise(exc, attempt))
        raise AssertionError("unreachable")

    return wrapper


def retry_transient_async(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """:func:`retry_transient` for a coroutine (the drawing statement on the event loop)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - re-raised unless transient
                await asyncio.sleep(_pause_or_raise(exc, attempt))
        raise AssertionError("unreachable")

    return wrapper


def _pause_or_raise(exc: Exception, attempt: int) -> float:
    """Re-raise ``exc`` unless it is transient and attempts remain; else how long to pause."""
    if not is_transient(exc):
        raise exc
    from creditlines import metrics

    metrics.TRANSACTION_RETRIES.labels(sqlstate(exc) or "").inc()
    if attempt == ATTEMPTS:
        log.error("transaction still aborted after %d attempts: %s", attempt, exc)
        raise ConcurrentUpdate(
            "the request collided with concurrent updates of the same account "
            "and was not applied; retry it (the same reference is safe)"
        ) from exc
    log.warning("transaction aborted (%s), attempt %d of %d", sqlstate(exc), attempt, ATTEMPTS)
    return random.uniform(0, 0.005 * 2**attempt)

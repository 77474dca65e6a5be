"""Group commit: the drawings one worker receives while its previous call is in flight, posted
together by one statement, in one transaction, with one commit (PostgreSQL).

A drawing on PostgreSQL is one call of ``creditlines_draw``, its own transaction; most of its
cost is PostgreSQL's per-transaction work (a snapshot, the commit's WAL flush) and the round trip.
Under load, a worker has several drawings waiting at once: :class:`GroupCommit` sends them as
one call of ``creditlines_draw_many`` (creditlines/db/sql/), which locks every reseller named in
(distributor, id) order, then runs each drawing's own ``creditlines_draw`` in arrival order.

* **No added wait.** Nothing is held back on a timer: a drawing that finds fewer than
  ``in_flight`` calls running goes at once, alone (the one-drawing statement, exactly as without
  group commit); the drawings that arrive meanwhile queue, and the next free slot takes all of
  them (up to ``max_size``). At low load every call carries one drawing; batches form only when
  drawings already wait for each other.
* **Each drawing's own outcome.** A refusal is an outcome, not an error: one refused drawing
  refuses nothing else. Two drawings with one reference answer as they would one after the other.
* **A fault stays with its drawing.** If the call fails (a deadlock or serialization failure
  after the retries, a lost connection, a fault in one drawing), nothing of it was committed
  (or, for a connection lost while committing, possibly all of it: every drawing is idempotent
  on its reference); each drawing is then posted on its own call, concurrently, so it gets its
  own answer or its own error.
* Transient failures (deadlock, serialization) are retried around the whole call by the
  caller's ``fetch`` wrapper, as for one drawing.

One instance per process; the queue belongs to the event loop it was first used on (a new
loop — a test client, a new worker — starts afresh).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from creditlines import metrics

log = logging.getLogger("creditlines.db")

Fetch = Callable[[str, dict[str, Any]], Awaitable[list[tuple[Any, ...]]]]


class GroupCommit:
    """Posts one-statement operations alone or, when several wait, together.

    ``one_sql`` takes one operation's parameters and returns one row whose first column is its
    outcome; ``many_sql`` takes, for each parameter name, the list of the operations' values
    (``columns``), and returns ``(position, outcome)`` rows, positions 1-based in list order."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        one_sql: str,
        many_sql: str,
        columns: Sequence[str],
        max_size: int = 64,
        in_flight: int = 2,
    ) -> None:
        if max_size < 1 or in_flight < 1:
            raise ValueError("max_size and in_flight must be at least 1")
        self._fetch, self._one, self._many, self._columns = fetch, one_sql, many_sql, tuple(columns)
        self.max_size, self.in_flight = max_size, in_flight
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def post(self, params: dict[str, Any]) -> Any:
        """The outcome of one operation (the first column of its row)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop: nothing of the old one carries over
            self._loop, self._queue, self._running, self._tasks = loop, [], 0, set()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((params, future))
        if self._running < self.in_flight:
            self._running += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        """Send what waits, call after call, until nothing does; then free the slot."""
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_size], self._queue[self.max_size :]
                await self._send(batch)
        finally:
            self._running -= 1

    async def _send(self, batch: list[tuple[dict[str, Any], asyncio.Future[Any]]]) -> None:
        metrics.GROUP_COMMIT_SIZE.observe(len(batch))
        try:
            if len(batch) == 1:
                rows = await self._fetch(self._one, batch[0][0])
                _settle(batch[0][1], result=rows[0][0])
                return
            arrays = {name: [params[name] for params, _ in batch] for name in self._columns}
            rows = await self._fetch(self._many, arrays)
        except asyncio.CancelledError:
            for _, future in batch:
                _settle(future, error=asyncio.CancelledError())
            raise
        except Exception as exc:  # noqa: BLE001 - handed to the caller, or each posted alone
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            log.warning("a group of %d drawings failed as one (%s): posting each on its own", len(batch), exc)
            metrics.GROUP_COMMIT_SPLITS.inc()
            await asyncio.gather(*(self._send([item]) for item in batch))
            return
        outcomes = {int(position): outcome for position, outcome in rows}
        for position, (_, future) in enumerate(batch, start=1):
            if position in outcomes:
                _settle(future, result=outcomes[position])
            else:  # pragma: no cover - the function answers every position
                _settle(future, error=RuntimeError(f"no outcome for position {position} of a group commit"))


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():  # the request was cancelled (its client went away): the outcome stands in the database
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)

"""Group commit: the drawings one worker receives while its previous call is in flight, posted
together by one statement, in one transaction, with one commit (PostgreSQL).

A drawing on PostgreSQL is one call of ``creditlines_draw``, its own transaction; most of its
cost is PostgreSQL's per-transaction work (a snapshot, the commit's WAL flush) and the round trip.
Under load, a worker has several drawings waiting at once: :class:`GroupCommit` sends them as
one call of ``creditlines_draw_many`` (creditlines/db/sql/), which locks every reseller named in
(distributor, id) order, then runs each drawing's own ``creditlines_draw`` in arrival order.

* **No added wait.** Nothing is held back on a timer: a drawing that finds fewer than
  ``in_flight`` calls running goes at once, alone (a call of one); the drawings that arrive
  meanwhile queue, and the next free slot takes all of them (up to ``max_size``). At low load
  every call carries one drawing; batches form only when drawings already wait for each other.
* **A lock held elsewhere delays only its own drawings.** A call in a slot never waits for a
  lock: it skips the resellers another transaction holds (``SKIP LOCKED``), a drawing alone as
  much as a group; their drawings come back unposted and go again in a call of the *waiting
  lane*, whose one slot is its own, that waits for those locks. So a nightly job holding one
  reseller never makes the drawings of other resellers wait — neither those of the same group
  nor those that queue behind a drawing that went alone.
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

    ``many_sql`` takes, for each parameter name, the list of the operations' values (``columns``)
    and ``wait`` (false: skip the rows another transaction holds), and returns ``(position,
    outcome)`` rows, positions 1-based in list order, outcome None for one skipped.
    ``alone_sql`` is the same call for one operation, taking its parameters as they are (no lists
    to build) and ``wait``; without it, ``many_sql`` with lists of one. A call of a slot, one
    operation or many, is one of these with ``wait`` false: it never waits for a lock.
    ``one_sql`` takes one operation's parameters, waits for its row and returns one row whose
    first column is its outcome: the waiting lane's call when it carries one operation."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        one_sql: str,
        many_sql: str,
        columns: Sequence[str],
        alone_sql: str | None = None,
        max_size: int = 64,
        in_flight: int = 1,
    ) -> None:
        if max_size < 1 or in_flight < 1:
            raise ValueError("max_size and in_flight must be at least 1")
        self._fetch, self._one, self._many, self._columns = fetch, one_sql, many_sql, tuple(columns)
        self._alone = alone_sql
        self.max_size, self.in_flight = max_size, in_flight
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lanes: dict[bool, _Lane] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def post(self, params: dict[str, Any]) -> Any:
        """The outcome of one operation (the first column of its row)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._enqueue([(params, future)], wait=False)
        return await future

    def _enqueue(self, items: list[tuple[dict[str, Any], asyncio.Future[Any]]], *, wait: bool) -> None:
        """Queue ``items`` in their lane, and start a call if the lane has a free slot. The
        waiting lane (operations skipped because their row was locked elsewhere) has one slot of
        its own: a call waiting for a lock never holds a slot of the others."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop: nothing of the old one carries over
            self._loop, self._lanes, self._tasks = loop, {False: _Lane(self.in_flight), True: _Lane(1)}, set()
        lane = self._lanes[wait]
        lane.queue.extend(items)
        if lane.running < lane.slots:
            lane.running += 1
            task = loop.create_task(self._drain(lane, wait))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, lane: _Lane, wait: bool) -> None:
        """Send what waits in ``lane``, call after call, until nothing does; then free the slot."""
        try:
            while lane.queue:
                batch, lane.queue = lane.queue[: self.max_size], lane.queue[self.max_size :]
                await self._send(batch, wait=wait)
        finally:
            lane.running -= 1

    async def _send(self, batch: list[tuple[dict[str, Any], asyncio.Future[Any]]], *, wait: bool = False) -> None:
        """One call for ``batch``. Without ``wait``, the operations whose row another transaction
        holds come back without an outcome (skipped, not posted): they go again in one call that
        waits for those locks, so that they never make the rest of the group, nor the drawings
        queued behind this call, wait. Alone or not, a call without ``wait`` is ``many_sql``: the
        one-operation statement would wait for the lock in the slot."""
        metrics.GROUP_COMMIT_SIZE.observe(len(batch))
        try:
            if len(batch) == 1 and wait:
                rows = await self._fetch(self._one, batch[0][0])
                _settle(batch[0][1], result=rows[0][0])
                return
            if len(batch) == 1 and self._alone is not None:
                rows = await self._fetch(self._alone, {**batch[0][0], "wait": wait})
            else:
                arrays: dict[str, Any] = {name: [params[name] for params, _ in batch] for name in self._columns}
                rows = await self._fetch(self._many, {**arrays, "wait": wait})
        except asyncio.CancelledError:
            for _, future in batch:
                _settle(future, error=asyncio.CancelledError())
            raise
        except Exception as exc:  # noqa: BLE001 - handed to the caller, or each posted alone
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            log.warning("a group of %d operations failed as one (%s): posting each on its own", len(batch), exc)
            metrics.GROUP_COMMIT_SPLITS.inc()
            await asyncio.gather(*(self._send([item], wait=wait) for item in batch))
            return
        outcomes = {int(position): outcome for position, outcome in rows}
        skipped = []
        for position, item in enumerate(batch, start=1):
            outcome = outcomes.get(position)
            if outcome is None:  # its row was locked elsewhere: not posted
                skipped.append(item)
            else:
                _settle(item[1], result=outcome)
        if skipped:
            if wait:  # pragma: no cover - a waiting call posts every operation
                for _, future in skipped:
                    _settle(future, error=RuntimeError("a group commit call left an operation without an outcome"))
                return
            metrics.GROUP_COMMIT_SKIPPED.inc(len(skipped))
            self._enqueue(skipped, wait=True)


class _Lane:
    """A queue of operations and how many calls may drain it at once."""

    def __init__(self, slots: int) -> None:
        self.slots, self.running = slots, 0
        self.queue: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():  # the request was cancelled (its client went away): the outcome stands in the database
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)

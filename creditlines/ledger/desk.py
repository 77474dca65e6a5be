"""The HTTP API's one way to post a drawing (:class:`DrawingDesk`), its engine chosen once at
start-up: on PostgreSQL the drawing function through the hot pool, with group commit
(creditlines.db.batch) when enabled; elsewhere a write transaction of the Python engine
(creditlines.ledger.drawings) in the threadpool."""

from __future__ import annotations

import re

import anyio.to_thread

from creditlines.db.batch import GroupCommit
from creditlines.db.engine import UnitOfWork
from creditlines.db.hot import HotPath
from creditlines.db.retry import retry_transient, retry_transient_async
from creditlines.ledger.drawings import DRAW_SQL, DrawingRequest, DrawResult, post

DRAW_PG = re.sub(r":(\w+)", r"%(\1)s", DRAW_SQL)  # the same call in psycopg's parameter style
# Group commit (creditlines.db.batch): the same arguments, one array each, one element per drawing.
DRAW_COLUMNS = (
    "d",
    "r",
    "reference",
    "amount",
    "vendor",
    "actor",
    "now",
    "day",
    "on_refusal",
    "invoice_date",
    "due_on",
)
DRAW_MANY_PG = (
    "SELECT position_in_call, outcome FROM creditlines_draw_many(%(d)s::text[], %(r)s::text[],"
    " %(reference)s::text[], %(amount)s::bigint[], %(vendor)s::text[], %(actor)s::text[], %(now)s::timestamp[],"
    " %(day)s::date[], %(on_refusal)s::text[], %(invoice_date)s::date[], %(due_on)s::date[], %(wait)s)"
)
# A drawing alone in a slot: the same call, its arguments as they are, made arrays of one by the
# server (nothing to build or encode as lists here). It skips a reseller locked elsewhere, as a
# group does, instead of waiting for it in the worker's one slot (creditlines.db.batch).
DRAW_ALONE_PG = re.sub(r"%\((\w+)\)s::(\w+)\[\]", r"ARRAY[%(\1)s::\2]", DRAW_MANY_PG)


class DrawingDesk:
    """The HTTP API's one way to post a drawing, its engine chosen once at start-up: on PostgreSQL
    one statement from the event loop through the hot pool (the function commits with its
    statement, a refusal's event included) — with ``group_commit``, the drawings that queue while
    earlier calls run go together in one (:class:`creditlines.db.batch.GroupCommit`); elsewhere a
    write transaction in the threadpool, committed before a refusal is raised. Deadlocks and
    serialization failures are retried."""

    def __init__(self, uow: UnitOfWork, hot: HotPath, *, group_commit: GroupCommit | None = None) -> None:
        self._uow, self._hot = uow, hot
        self._engine = self._in_postgresql if hot.is_postgresql else self._in_python
        self._group = group_commit if hot.is_postgresql else None

    @classmethod
    def grouped(cls, uow: UnitOfWork, hot: HotPath, *, max_size: int = 64, in_flight: int = 1) -> DrawingDesk:
        """A desk whose PostgreSQL drawings go through group commit."""
        fetch = retry_transient_async(hot.fetch)
        group = GroupCommit(
            fetch,
            one_sql=DRAW_PG,
            many_sql=DRAW_MANY_PG,
            alone_sql=DRAW_ALONE_PG,
            columns=DRAW_COLUMNS,
            max_size=max_size,
            in_flight=in_flight,
        )
        return cls(uow, hot, group_commit=group)

    async def post(self, request: DrawingRequest) -> DrawResult:
        return await self._engine(request)

    async def _in_postgresql(self, request: DrawingRequest) -> DrawResult:
        if self._group is not None:
            return DrawResult.of(await self._group.post(request.params()), request)
        rows = await retry_transient_async(self._hot.fetch)(DRAW_PG, request.params())
        return DrawResult.of(rows[0][0], request)

    async def _in_python(self, request: DrawingRequest) -> DrawResult:
        return await anyio.to_thread.run_sync(self._transaction, request)

    @retry_transient
    def _transaction(self, request: DrawingRequest) -> DrawResult:
        with self._uow.write() as session:
            return post(session, request)

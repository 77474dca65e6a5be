"""The hot paths' database access: one statement per request, no ORM, no thread hop.

A credit officer's eligibility check (and, on PostgreSQL, an ERP drawing) is a single
statement. Going through the synchronous ORM costs a thread hop, a session and ORM rows per
request — three quarters of the CPU of a check (docs/BENCHMARKS.md). Here:

* PostgreSQL: a psycopg ``AsyncConnectionPool`` in autocommit, statements prepared on the
  server; each statement reads one committed state (or, for ``creditlines_draw``, is its
  own transaction).
* SQLite: one connection per process, used from the event loop itself. A read of one
  reseller's rows by primary key takes tens of microseconds — less than a hop to a thread —
  and under WAL it never waits for a writer.

The pool belongs to the event loop that opened it; a new loop (a test client, a new worker)
gets its own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from creditlines.db.urls import libpq, normalize
from creditlines.eligibility import LineState, StopState

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

POOL_WAIT_S = 10.0  # the longest a request waits for a hot connection

# The reseller, its lines, and the overdue stop's one range sum (SPEC §18,
# creditlines.ledger.terms): the outstanding of its open drawings due before the local date
# minus the distributor's after_days, over the partial index ix_drawing_open_due (no ledger read).
# The subquery names its parameters, not the outer rows, so it runs once per statement.
RESELLER_LINES = """
SELECT r.status, l.id, l.kind, l.funder, l.programme_id, l.vendor_id, l.usable_for, l.on_expiry,
       l.status, l.limit_minor, l.drawn_minor, l.valid_from, l.valid_until, l.grant_seq,
       s.after_days, s.min_minor, s.overdue
FROM reseller r JOIN line l ON l.distributor_id = r.distributor_id AND l.reseller_id = r.id
CROSS JOIN (SELECT d.overdue_stop_after_days AS after_days, d.overdue_stop_min_minor AS min_minor,
                   (SELECT coalesce(sum(dr.outstanding_minor), 0) FROM drawing dr
                     WHERE dr.distributor_id = {d} AND dr.reseller_id = {r} AND dr.outstanding_minor > 0
                       AND dr.due_on < {cutoff}) AS overdue
              FROM distributor d WHERE d.id = {d}) s
WHERE r.distributor_id = {d} AND r.id = {r}
ORDER BY l.grant_seq
"""
PG_CUTOFF = "CAST(%(day)s AS date) - d.overdue_stop_after_days"
SQLITE_CUTOFF = "date(:day, '-' || d.overdue_stop_after_days || ' days')"


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _required_day(value: Any) -> date:
    day = _day(value)
    if day is None:  # pragma: no cover - the column is NOT NULL
        raise ValueError("a line without valid_from")
    return day


def stop_state(rows: Sequence[Sequence[Any]]) -> StopState | None:
    """The overdue stop as RESELLER_LINES read it: None unless it holds now."""
    if not rows or rows[0][14] is None:
        return None
    after_days, min_minor, overdue = rows[0][14], rows[0][15], int(rows[0][16])
    if overdue > 0 and overdue >= min_minor:
        return StopState(overdue=overdue, after_days=after_days, min_amount=min_minor)
    return None


def line_states(rows: Sequence[Sequence[Any]]) -> tuple[str | None, list[LineState]]:
    """Rows of RESELLER_LINES as (reseller status, line states); (None, []) if no reseller."""
    if not rows:
        return None, []
    return rows[0][0], [
        LineState(
            id=row[1],
            kind=row[2],
            funder=row[3],
            programme_id=row[4],
            vendor_id=row[5],
            usable_for=row[6],
            on_expiry=row[7],
            status=row[8],
            limit=row[9],
            drawn=row[10],
            valid_from=_required_day(row[11]),
            valid_until=_day(row[12]),
            grant_seq=row[13],
        )
        for row in rows
    ]


async def _index_only(conn: Any) -> None:
    """Every hot statement reads a few rows by key (the reseller, its lines, its open drawings due
    before a date): tell the planner so, once per connection. Statements are prepared once and
    their generic plan kept; planned while a table's statistics still say it is empty (a new
    database, before autovacuum's first ANALYZE), the overdue sum would otherwise scan the whole
    drawing table on every check, a cost that grows with history (docs/BENCHMARKS.md, third
    round). ``creditlines_draw`` sets the same for itself."""
    await conn.execute("SET enable_seqscan = off")


class HotPath:
    """One per process (``app.state.hot``)."""

    def __init__(self, url: str, *, pool_size: int = 4, pool_wait_s: float = POOL_WAIT_S) -> None:
        parsed = make_url(normalize(url))
        self.dialect = parsed.get_backend_name()
        self.pool_size = pool_size
        self.pool_wait_s = pool_wait_s  # read when the pool opens and at each wait for a connection
        self._pool: AsyncConnectionPool[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None
        if self.dialect == "postgresql":
            # libpq's multi-host URL with connect timeouts and keepalives (creditlines.db.urls): a new
            # connection goes to whichever host accepts writes, the new primary after a failover.
            self._conninfo = libpq(url)
            self._checks: set[asyncio.Task[None]] = set()
            self._reseller_lines = RESELLER_LINES.format(d="%(d)s", r="%(r)s", cutoff=PG_CUTOFF)
        else:
            self._sqlite_path = parsed.database or ":memory:"
            self._sqlite: sqlite3.Connection | None = None
            self._reseller_lines = RESELLER_LINES.format(d=":d", r=":r", cutoff=SQLITE_CUTOFF)

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    async def _pg_pool(self) -> AsyncConnectionPool[Any]:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return self._pool
        if self._loop is not loop or self._opening is None:
            self._loop, self._opening, self._pool = loop, asyncio.Lock(), None
        async with self._opening:
            if self._pool is None:
                from psycopg_pool import AsyncConnectionPool

                pool = AsyncConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=self.pool_size,
                    open=False,
                    name="creditlines-hot",
                    timeout=self.pool_wait_s,  # then PoolTimeout: 503 database_unavailable, never a hang
                    # A failed reconnection is retried with a doubling pause; giving up after
                    # 2 s lets the next request for a connection (_getconn asks every second)
                    # start a fresh attempt at once.
                    reconnect_timeout=2,
                    kwargs={"autocommit": True, "prepare_threshold": 0},
                    configure=_index_only,
                )
                await pool.open()
                self._pool = pool
        return self._pool

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            conn = sqlite3.connect(self._sqlite_path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("PRAGMA query_only=ON")
            self._sqlite = conn
        return self._sqlite

    async def fetch(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Rows of one statement (autocommit on PostgreSQL, one implicit read on SQLite), ``sql``
        in the dialect's parameter style."""
        if self.dialect == "postgresql":
            import psycopg

            pool = await self._pg_pool()
            conn = await self._getconn(pool)
            try:
                cursor = await conn.execute(sql, params)
                rows: list[tuple[Any, ...]] = await cursor.fetchall()
                return rows
            except psycopg.errors.ReadOnlySqlTransaction:
                await conn.close()  # a demoted primary, now a standby: the pool drops it
                raise
            except psycopg.OperationalError:
                self._purge(pool)  # the server went away: its other idle connections are dead too
                raise
            finally:
                await pool.putconn(conn)  # a closed or broken connection is discarded
        return self._sqlite_connection().execute(sql, params).fetchall()

    async def _getconn(self, pool: AsyncConnectionPool[Any]) -> Any:
        """A connection within ``pool_wait_s``, asked for again every second: each new request for
        one lets the pool start a fresh connection attempt once its previous attempts gave up
        (psycopg_pool's backoff doubles its pauses), so after a failover a waiting request gets a
        connection to the new primary within about a second of it accepting writes."""
        from psycopg_pool import PoolTimeout

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.pool_wait_s
        while True:
            remaining = deadline - loop.time()
            try:
                return await pool.getconn(timeout=max(0.05, min(1.0, remaining)))
            except PoolTimeout:
                if remaining <= 1.0:
                    raise  # 503 database_unavailable, never a longer wait

    def _purge(self, pool: AsyncConnectionPool[Any]) -> None:
        """Check the pool's idle connections in the background and drop the broken ones, so that
        after a failover the next requests get new connections (to the new primary) instead of
        failing one by one on connections to the old one. The failed connection itself is
        already discarded by the pool (it is closed)."""
        if self._checks:
            return  # one check at a time
        task = asyncio.get_running_loop().create_task(pool.check())
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def reseller_lines(
        self, distributor_id: str, reseller_id: str, day: date
    ) -> tuple[str | None, list[LineState], StopState | None]:
        """The reseller's status, its lines, and its overdue stop on local date ``day`` (if it holds)."""
        rows = await self.fetch(self._reseller_lines, {"d": distributor_id, "r": reseller_id, "day": day})
        status, states = line_states(rows)
        return status, states, stop_state(rows)

    async def close(self) -> None:
        if self._pool is not None and self._loop is asyncio.get_running_loop():
            await self._pool.close()
        self._pool = None
        if self.dialect != "postgresql" and self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

"""Many rows in one statement on PostgreSQL: ``COPY`` to insert, ``UPDATE … FROM unnest`` to update.

``executemany`` through psycopg sends one INSERT or UPDATE per row (pipelined, but each row
still bound and executed on its own by the server, and dumped parameter by parameter in
Python); the nightly job writes hundreds of thousands of rows. These helpers write the same
rows with one statement per call. Values go through the columns' own bind processors (e.g.
``UTCDateTime`` to naive UTC), exactly as ``executemany`` would send them; nothing is decided
here. SQLite has neither: callers keep ``executemany`` there, and
``tests/jobs/test_expiry_set_based.py`` compares both on PostgreSQL, row by row.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, FromClause, Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import QueryableAttribute


def _array_type(column: ColumnElement[Any], conn: Connection) -> str:
    return f"{column.type.compile(dialect=conn.dialect)}[]"


def _arrays(conn: Connection, table: FromClause, names: list[str], rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    arrays: dict[str, list[Any]] = {}
    for i, name in enumerate(names):
        process = table.c[name].type.bind_processor(conn.dialect)
        values = [row[name] for row in rows]
        arrays[f"a{i}"] = [process(v) for v in values] if process else values
    return arrays


def insert_rows(conn: Connection, table: FromClause, rows: list[dict[str, Any]]) -> None:
    """``INSERT INTO table`` of ``rows`` (dicts with the same keys) as one ``COPY``, in their
    order: an identity column numbers them as ``executemany`` would. Columns not in the rows
    get their server defaults (a column with a Python-side default must be given); constraints
    and triggers apply as to an INSERT."""
    if not rows:
        return
    names = list(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError("insert_rows: every row needs the same keys")
    name = cast(Table, table).name
    missing = [c.name for c in cast(Table, table).columns if c.name not in rows[0] and c.default is not None]
    if missing:
        raise ValueError(f"insert_rows: {name}: give {missing} (Python-side defaults are not applied here)")
    processors = [table.c[n].type.bind_processor(conn.dialect) for n in names]
    columns = ", ".join(f'"{n}"' for n in names)
    sql = f'COPY "{name}" ({columns}) FROM STDIN'
    driver = conn.connection.driver_connection
    assert driver is not None
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([p(row[n]) if p else row[n] for n, p in zip(names, processors, strict=True)])
    except dbapi_error as exc:  # raised as SQLAlchemy would (IntegrityError, OperationalError, …)
        raise DBAPIError.instance(sql, None, exc, dbapi_error, dialect=conn.dialect) from exc


def update_rows(
    conn: Connection,
    table: FromClause,
    rows: list[dict[str, Any]],
    *,
    keys: list[str],
    set_: tuple[str, ...] = (),
    add: tuple[str, ...] = (),
) -> None:
    """One ``UPDATE … FROM unnest(…)`` for many ``rows`` (dicts keyed by column names), matched on
    the columns ``keys`` (a key given twice is refused: it would be updated once). The columns in
    ``set_`` take the row's value; those in ``add`` have the row's value added to them."""
    if not rows:
        return
    names = [*keys, *set_, *add]
    if len({tuple(row[k] for k in keys) for row in rows}) != len(rows):
        raise ValueError("update_rows: a key given twice")
    arrays = ", ".join(f"%(a{i})s::{_array_type(table.c[n], conn)}" for i, n in enumerate(names))
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    alias = {n: f"v.c{i}" for i, n in enumerate(names)}
    assignments = [f'"{c}" = {alias[c]}' for c in set_] + [f'"{c}" = t."{c}" + {alias[c]}' for c in add]
    where = " AND ".join(f't."{k}" = {alias[k]}' for k in keys)
    sql = (
        f'UPDATE "{cast(Table, table).name}" AS t SET {", ".join(assignments)} '
        f"FROM unnest({arrays}) AS v({aliases}) WHERE {where}"
    )
    conn.exec_driver_sql(sql, _arrays(conn, table, names, rows))


ENABLED = True  # tests turn it off to compare with executemany on PostgreSQL


def usable(conn: Connection) -> bool:
    """Whether to write through these helpers: on PostgreSQL, unless a test turned them off."""
    return ENABLED and conn.dialect.name == "postgresql"


def one_of(
    column: ColumnElement[Any] | QueryableAttribute[Any], values: list[Any], conn: Connection
) -> ColumnElement[bool]:
    """``column IN values``. On PostgreSQL (:func:`usable`) ``column = ANY(:array)``: one
    parameter, so the statement's text is the same for any number of values (psycopg caches
    the conversion of short statements only: an IN list of hundreds of placeholders is parsed
    again at each call, and SQLAlchemy expands it again)."""
    if usable(conn):
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)

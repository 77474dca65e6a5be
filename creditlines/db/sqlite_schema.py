"""Migrations' help for SQLite: a CHECK constraint loosened in place (0010, 0012)."""

from __future__ import annotations

from alembic import op


def replace_checks(replacements: list[tuple[str, str, str]]) -> None:
    """SQLite cannot alter a CHECK constraint, and rebuilding ``drawing``, ``line`` or ``release``
    (referenced by foreign keys, which are enforced) would fail on a database with rows. Loosening
    a CHECK does not change how rows are stored, so the table's stored definition is edited in
    place, the procedure SQLite documents for it (https://sqlite.org/lang_altertable.html,
    "making other kinds of table schema changes"); the schema version is bumped so every
    connection reloads it."""
    conn = op.get_bind()
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema=ON")
    for table, old, new in replacements:
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).scalar_one()
        if old not in sql:
            raise RuntimeError(f"{table}: the constraint text {old!r} is not in the stored definition")
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql.replace(old, new), table)
        )
    conn.exec_driver_sql(f"PRAGMA schema_version={version + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema=OFF")

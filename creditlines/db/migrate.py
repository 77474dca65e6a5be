"""Apply Alembic migrations programmatically (``creditlines migrate``, ``serve``, tests).

On PostgreSQL migrations run as the owner of the tables (``CREDITLINES_MIGRATION_DATABASE_URL``);
the service's own role (``CREDITLINES_DATABASE_URL``) may not change the schema, so with it
alone ``serve`` only checks that the schema is at head (``ensure_schema``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class SchemaNotAtHead(RuntimeError):
    """The database needs migrations that this URL's role may not run."""


def alembic_config(url: str, *, app_role: str | None = None) -> Config:
    from creditlines.config import get_settings

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("app_role", app_role or get_settings().app_role)
    return config


def upgrade(url: str, revision: str = "head", *, app_role: str | None = None) -> None:
    command.upgrade(alembic_config(url, app_role=app_role), revision)


def current_heads(url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def database_revisions(url: str) -> set[str] | None:
    """The revisions the database is at (empty when never migrated; None when this URL's role
    may not read them: the app role before migration 0004 granted it anything)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import ProgrammingError

    from creditlines.db.engine import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) == "42501":  # insufficient_privilege
            return None
        raise
    finally:
        engine.dispose()


def ensure_schema(url: str, migration_url: str | None = None) -> str:
    """Bring the schema to head, or check it is there. Returns what was done.

    With ``migration_url`` (the owner's) the migrations are applied with it. Otherwise they are
    applied with ``url`` when its role may change the schema (SQLite; a single-role PostgreSQL
    installation); a role that may not (the app role) gets ``SchemaNotAtHead`` naming what to
    run, and nothing is attempted.
    """
    from creditlines.db.roles import can_change_schema

    if migration_url:
        upgrade(migration_url)
        return "migrated"
    heads = set(current_heads(url))
    at = database_revisions(url)
    if at == heads:
        return "at head"
    if can_change_schema(url):
        upgrade(url)
        return "migrated"
    where = "at an unreadable revision" if at is None else f"at {', '.join(sorted(at)) or 'no revision'}"
    raise SchemaNotAtHead(
        f"the database is {where}, this code needs {', '.join(sorted(heads))}, "
        "and the service's role may not change the schema: run `creditlines migrate` with "
        "CREDITLINES_MIGRATION_DATABASE_URL set to the owner's URL (or set it for `serve`)"
    )

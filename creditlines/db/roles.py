"""PostgreSQL roles: the owner runs the migrations, the service runs as the app role.

The app role may SELECT and INSERT the service's tables, UPDATE only those whose rows change
state (``STATEFUL``), DELETE only the sign-out records it purges (``DELETABLE``), and only read
``alembic_version``; the append-only tables (``APPEND_ONLY``) refuse UPDATE and DELETE to everyone
by trigger as well. It never owns anything, so it can neither change the schema nor disable a
trigger. Those grants are made by migrations 0004 and 0008 (per database); a table created later
gets SELECT, INSERT and UPDATE from the default privileges (its migration revokes UPDATE when its
rows never change). Roles are cluster-wide and created here, by
``creditlines db create-roles`` or the SQL it prints (``--sql``).

Several installations (or test runs) may share a cluster and create the roles at the same time:
every statement here is idempotent and a concurrent creation is not an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, sql
from sqlalchemy.engine import make_url

from creditlines.db.urls import libpq, normalize

DEFAULT_OWNER_ROLE = "creditlines_owner"
DEFAULT_APP_ROLE = "creditlines_app"
APPEND_ONLY = (
    "ledger_entry",
    "release",
    "partnership_entry",
    "insurance_cover",
    "event",
    "webhook_attempt",
)  # 0004, 0005, 0006
# The tables whose rows change state: the only ones the app role may UPDATE (0008; distributor and
# financing 0010; claim 0012).
STATEFUL = (
    "allocation",
    "api_key",
    "claim",
    "credit_policy",
    "distributor",
    "drawing",
    "financing",
    "limit_request",
    "line",
    "nomination",
    "partnership",
    "policy_request",
    "programme",
    "purchase_event",
    "reseller",
    "webhook",
)
DELETABLE = ("console_sign_out",)  # the only rows the service deletes (0008)


@dataclass(frozen=True)
class Roles:
    owner: str = DEFAULT_OWNER_ROLE
    app: str = DEFAULT_APP_ROLE


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://…``) as psycopg takes it."""
    return libpq(url, defaults=False)


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The same database reached as another role."""
    parsed = make_url(normalize(url))
    return parsed.set(username=user, password=password).render_as_string(hide_password=False)


def _scalar(cursor: psycopg.Cursor[Any]) -> Any:
    """The one value of a query that always answers one row."""
    row = cursor.fetchone()
    if row is None:  # pragma: no cover - these queries always answer one row
        raise RuntimeError("the query answered no row")
    return row[0]


def _ensure_role(conn: psycopg.Connection, name: str, password: str | None) -> bool:
    """Create a LOGIN role unless it exists; True when this call created it."""
    created = False
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
            created = True
        except (errors.DuplicateObject, errors.UniqueViolation):
            pass  # another session created it between our check and our CREATE
    can_login = _scalar(conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (name,)))
    if not can_login:  # e.g. created NOLOGIN by migration 0004 run as a superuser
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(name)))
    if password is not None:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
    return created


def _quote(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


def statements(roles: Roles, database: str, schema: str = "public") -> list[str]:
    """What ``create_roles`` runs, as a psql script a DBA can read and run (idempotent; no passwords)."""
    o, a, d, s = (_quote(x) for x in (roles.owner, roles.app, database, schema))
    create = "DO $$ BEGIN CREATE ROLE {} LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;"
    return [
        f"-- as a superuser, connected to database {d}; passwords: ALTER ROLE … PASSWORD '…'",
        create.format(o),
        create.format(a),
        f"GRANT CONNECT ON DATABASE {d} TO {o}, {a};",
        f"GRANT USAGE, CREATE ON SCHEMA {s} TO {o};",
        f"GRANT USAGE ON SCHEMA {s} TO {a};",
        f"-- an installation migrated before: ALTER TABLE|SEQUENCE|FUNCTION … OWNER TO {o} for each object of {s}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE ON TABLES TO {a};",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {a};",
        "-- then, as the owner: creditlines migrate (migration 0004 grants the app role its privileges)",
    ]


def create_roles(
    admin_url: str,
    roles: Roles,
    *,
    owner_password: str | None = None,
    app_password: str | None = None,
    schema: str = "public",
) -> dict[str, bool]:
    """Create (or complete) the two roles and hand the schema's objects to the owner.

    ``admin_url`` reaches the application's database as a superuser (or a role with CREATEROLE
    that owns the database's objects). Returns which roles this call created.
    """
    if roles.owner == roles.app:
        raise ValueError("the owner and the app role must differ")
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        created = {
            roles.owner: _ensure_role(conn, roles.owner, owner_password),
            roles.app: _ensure_role(conn, roles.app, app_password),
        }
        o, a, s = sql.Identifier(roles.owner), sql.Identifier(roles.app), sql.Identifier(schema)
        database = _scalar(conn.execute("SELECT current_database()"))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(sql.Identifier(database), o, a))
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(s, o))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, a))
        _hand_to_owner(conn, schema, roles.owner)
        conn.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT, INSERT, UPDATE ON TABLES TO {}"
            ).format(o, s, a)
        )
        conn.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT USAGE, SELECT ON SEQUENCES TO {}").format(
                o, s, a
            )
        )
    return created


def _hand_to_owner(conn: psycopg.Connection, schema: str, owner: str) -> None:
    """An installation migrated before the roles existed: its objects become the owner's (their
    grants are kept), so that the owner can migrate it from now on."""
    objects = conn.execute(
        """
        SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
               format('%%I.%%I', n.nspname, c.relname)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'S')
           AND pg_get_userbyid(c.relowner) <> %(owner)s
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                              AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i'))))
        UNION ALL
        SELECT 'FUNCTION', p.oid::regprocedure::text
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = %(schema)s AND pg_get_userbyid(p.proowner) <> %(owner)s
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
        """,
        {"schema": schema, "owner": owner},
    ).fetchall()
    for kind, name in objects:
        conn.execute(sql.SQL("ALTER {} {} OWNER TO {}").format(sql.SQL(kind), sql.SQL(name), sql.Identifier(owner)))


def can_change_schema(url: str) -> bool:
    """Whether the URL's role may run migrations: SQLite always; on PostgreSQL a role that may
    create in the current schema (the app role may not)."""
    if make_url(normalize(url)).get_backend_name() != "postgresql":
        return True
    with psycopg.connect(libpq_url(url), connect_timeout=10) as conn:
        return bool(_scalar(conn.execute("SELECT has_schema_privilege(current_schema(), 'CREATE')")))

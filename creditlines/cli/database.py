"""``creditlines migrate`` and ``creditlines db create-roles``: the schema and the PostgreSQL roles."""

from __future__ import annotations

import typer

from creditlines.cli.common import console, err, redact
from creditlines.config import get_settings

db_app = typer.Typer(help="Database set-up: the PostgreSQL roles.", no_args_is_help=True)


def migrate() -> None:
    """Apply the database migrations (idempotent), as the owner on PostgreSQL."""
    from creditlines.db.migrate import upgrade
    from creditlines.db.roles import can_change_schema

    settings = get_settings()
    url = settings.migration_database_url or settings.database_url
    if not can_change_schema(url):
        err.print(
            f"[red]refused[/red]: {redact(url)} may not change the schema (it is the service's role); "
            "set CREDITLINES_MIGRATION_DATABASE_URL to the owner's URL"
        )
        raise typer.Exit(2)
    upgrade(url)
    console.print(f"[green]database at head[/green] ({redact(url)})")


@db_app.command("create-roles")
def db_create_roles(
    admin_url: str = typer.Option(
        None, "--admin-url", envvar="CREDITLINES_ADMIN_DATABASE_URL", help="the application's database as a superuser"
    ),
    owner_role: str = typer.Option("creditlines_owner", "--owner-role", help="owns the tables, runs migrations"),
    app_role: str = typer.Option(None, "--app-role", help="the service's role [default: CREDITLINES_APP_ROLE]"),
    owner_password: str = typer.Option(None, envvar="CREDITLINES_OWNER_PASSWORD", hidden=True),
    app_password: str = typer.Option(None, envvar="CREDITLINES_APP_PASSWORD", hidden=True),
    print_sql: bool = typer.Option(False, "--sql", help="print the SQL instead of running it"),
) -> None:
    """Create the owner and app roles (idempotent) and hand the schema to the owner.

    Passwords are read from CREDITLINES_OWNER_PASSWORD and CREDITLINES_APP_PASSWORD when set.
    Then run `creditlines migrate` as the owner: migration 0004 grants the app role its rights.
    """
    from creditlines.db.roles import Roles, create_roles, statements

    roles = Roles(owner=owner_role, app=app_role or get_settings().app_role)
    if print_sql:
        from sqlalchemy.engine import make_url

        database = make_url(admin_url).database if admin_url else "creditlines"
        typer.echo("\n".join(statements(roles, database or "creditlines")))
        return
    if not admin_url:
        err.print("[red]--admin-url (or CREDITLINES_ADMIN_DATABASE_URL) is required[/red]")
        raise typer.Exit(2)
    try:
        created = create_roles(admin_url, roles, owner_password=owner_password, app_password=app_password)
    except Exception as exc:  # noqa: BLE001 - a refusal from PostgreSQL, said plainly
        err.print(f"[red]roles not created[/red]: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    for role, new in created.items():
        console.print(f"role {role}: {'created' if new else 'already there'}")
    console.print(
        f"next: CREDITLINES_MIGRATION_DATABASE_URL=<{roles.owner}'s URL> creditlines migrate; "
        f"serve with CREDITLINES_DATABASE_URL=<{roles.app}'s URL>"
    )

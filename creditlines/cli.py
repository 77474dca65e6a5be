"""The ``creditlines`` command: serve, migrate, verify, demo, keys, …"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from creditlines.config import get_settings

if TYPE_CHECKING:
    from creditlines.db.engine import UnitOfWork

app = typer.Typer(
    help="creditlines: credit lines of IT resellers and vendor-funded supplementary lines.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


def _uow() -> UnitOfWork:
    from creditlines.db.engine import UnitOfWork, make_engine

    return UnitOfWork(make_engine(get_settings().database_url))


@app.command()
def migrate() -> None:
    """Apply the database migrations (idempotent), as the owner on PostgreSQL."""
    from creditlines.db.migrate import upgrade
    from creditlines.db.roles import can_change_schema

    settings = get_settings()
    url = settings.migration_database_url or settings.database_url
    if not can_change_schema(url):
        err.print(
            f"[red]refused[/red]: {_redact(url)} may not change the schema (it is the service's role); "
            "set CREDITLINES_MIGRATION_DATABASE_URL to the owner's URL"
        )
        raise typer.Exit(2)
    upgrade(url)
    console.print(f"[green]database at head[/green] ({_redact(url)})")


@app.command()
def verify(distributor: str = typer.Option(None, "--distributor", "-d", help="only this distributor")) -> None:
    """Recompute every balance from the ledger; exit 1 on any difference."""
    from creditlines.ledger.verify import verify as run_verify

    with _uow().snapshot() as session:
        differences = run_verify(session, distributor_id=distributor)
    if differences:
        for difference in differences:
            err.print(f"[red]DIFFERENCE[/red] {difference}")
        err.print(f"[red]{len(differences)} difference(s) between balances and the ledger[/red]")
        raise typer.Exit(1)
    console.print("[green]ledger and balances agree[/green]")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port to bind"),
    workers: int = typer.Option(1, help="worker processes"),
    no_migrate: bool = typer.Option(False, "--no-migrate", help="do not apply (or check) migrations at start"),
) -> None:
    """Serve the HTTP API. At start, migrations are applied with CREDITLINES_MIGRATION_DATABASE_URL
    when set, else with the service's URL if its role may; a role that may not (the app role)
    only checks that the schema is at head and stops if it is not."""
    import contextlib
    import logging
    import os
    import tempfile

    import uvicorn

    from creditlines.db.migrate import SchemaNotAtHead, ensure_schema

    settings = get_settings()
    if not no_migrate:
        try:
            ensure_schema(settings.database_url, settings.migration_database_url)
        except SchemaNotAtHead as exc:
            err.print(f"[red]not started[/red]: {exc}")
            raise typer.Exit(1) from None
    metrics_on = settings.metrics_token is not None or settings.metrics_port is not None
    with contextlib.ExitStack() as stack:
        if (
            metrics_on
            and workers > 1
            and not (os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir"))
        ):
            # Workers inherit the environment: each writes its samples there, /metrics adds them up.
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="creditlines-metrics-"))
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        from api.observability import configure_logging
        from creditlines import metrics

        configure_logging(settings.log_level)
        log = logging.getLogger("creditlines.metrics")
        if settings.metrics_port is not None:
            # Bound once, here, in the parent of the workers: it reads what every worker wrote.
            try:
                server = metrics.serve(settings.metrics_host, settings.metrics_port, settings.metrics_token)
            except OSError as exc:
                err.print(f"[red]cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}[/red]: {exc}")
                raise typer.Exit(2) from None
            stack.callback(server.shutdown)
            log.info(
                "metrics on http://%s:%d/metrics%s",
                settings.metrics_host,
                settings.metrics_port,
                " (bearer token required)" if settings.metrics_token else "",
            )
        elif not metrics_on:
            log.warning(
                "/metrics is off: set CREDITLINES_METRICS_TOKEN (served on the API port to that bearer "
                "token) or CREDITLINES_METRICS_PORT (served on its own port); see docs/OPERATIONS.md"
            )
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level.lower(),
            access_log=False,
        )


db_app = typer.Typer(help="Database set-up: the PostgreSQL roles.", no_args_is_help=True)
app.add_typer(db_app, name="db")


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


keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: str = typer.Option(..., help="admin | credit_officer | integration | partner_manager"),
    distributor: str = typer.Option(None, "--distributor", help="for credit_officer and integration"),
    vendor: str = typer.Option(None, "--vendor", help="for partner_manager"),
    label: str = typer.Option(None, help="who holds it, e.g. 'Lyon credit desk'"),
) -> None:
    """Create a key. It is printed once: store it now."""
    from creditlines.auth import service as auth
    from creditlines.errors import CreditLinesError

    try:
        with _uow().write() as session:
            row, key = auth.create_key(session, role=role, distributor_id=distributor, vendor_id=vendor, label=label)
    except CreditLinesError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None
    scope = row.distributor_id or row.vendor_id
    console.print(f"key id [bold]{row.id}[/bold] ({row.role}{' @ ' + scope if scope else ''})")
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from rich.table import Table

    from creditlines.auth import service as auth

    table = Table("id", "role", "scope", "label", "created", "revoked")
    with _uow().read() as session:
        for row in auth.list_keys(session):
            table.add_row(
                row.id,
                row.role,
                row.distributor_id or row.vendor_id or "-",
                row.label or "",
                row.created_at.isoformat(timespec="seconds"),
                row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "",
            )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key: refused from the next request on."""
    from creditlines.auth import service as auth
    from creditlines.errors import CreditLinesError

    try:
        with _uow().write() as session:
            auth.revoke_key(session, key_id=key_id)
    except CreditLinesError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None
    console.print(f"key {key_id} revoked")


@app.command()
def demo(
    size: str = typer.Option("default", help="default | large"),
    if_empty: bool = typer.Option(False, "--if-empty", help="do nothing when data is already there"),
    seed: int = typer.Option(2026, help="random seed of the generated scenario"),
) -> None:
    """Load the field scenario: Actebis, ETC, Tech Data, Ingram Micro, Microsoft, HP, resellers, programmes."""
    from creditlines import demo as demo_mod

    settings = get_settings()
    keys = demo_mod.load(
        _uow(), size=size, if_empty=if_empty, seed=seed, database_url=settings.database_url, progress=console
    )
    demo_mod.print_welcome(console, keys)


@app.command()
def expire(
    as_of: str = typer.Option(
        None, "--as-of", help="replay a missed night: expire what ended before DATE (YYYY-MM-DD)"
    ),
    distributor: str = typer.Option(None, "--distributor", "-d", help="only this distributor"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would happen; write nothing"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable summary on stdout"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing on success (cron)"),
) -> None:
    """Expire every line past its valid_until in its distributor's local time and apply on_expiry.

    Exit codes: 0 done (or nothing to do), 2 refused (bad or future --as-of, unknown distributor),
    1 failure (nothing half-applied: rerun to finish).
    """
    import json
    from datetime import date

    from creditlines.errors import CreditLinesError
    from creditlines.jobs import expiry
    from creditlines.money import for_people, from_minor, money_json

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        err.print(f"[red]--as-of must be a date such as 2026-07-01, got {as_of!r}[/red]")
        raise typer.Exit(2) from None
    uow = _uow()
    show_progress = console.is_terminal and not (as_json or quiet)
    try:
        if show_progress:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            total = expiry.count_due(uow, as_of=day)
            with Progress(TextColumn("expiring lines"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
                task = bar.add_task("expire", total=total or 1)
                reports = expiry.run_expiry(
                    uow,
                    as_of=day,
                    distributor_id=distributor,
                    dry_run=dry_run,
                    on_progress=lambda _d, n: bar.advance(task, n),
                )
        else:
            reports = expiry.run_expiry(uow, as_of=day, distributor_id=distributor, dry_run=dry_run)
    except expiry.FutureAsOf as exc:
        err.print(f"[red]refused[/red]: {exc}; the job never expires a line early")
        raise typer.Exit(2) from None
    except CreditLinesError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "lines_expired": sum(r.lines_expired for r in reports),
                    "by_distributor": [
                        {
                            "distributor_id": r.distributor_id,
                            "as_of": r.as_of.isoformat(),
                            "lines_expired": r.lines_expired,
                            "amount_transferred": money_json(r.minor_transferred, r.currency),
                            "resellers_over_limit": r.resellers_over_limit,
                        }
                        for r in reports
                    ],
                }
            )
        )
        return
    if quiet:
        return
    from rich.table import Table

    locale = get_settings().locale
    table = Table(
        "distributor",
        "as of",
        "lines expired",
        "moved to base",
        "resellers now over limit",
        title="expiry (dry run: nothing written)" if dry_run else "expiry",
    )
    for r in reports:
        table.add_row(
            r.distributor_id,
            r.as_of.isoformat(),
            str(r.lines_expired),
            for_people(from_minor(r.minor_transferred, r.currency), locale),
            str(r.resellers_over_limit),
        )
    console.print(table)


from creditlines.cli_partners import app as partners_app  # noqa: E402 - its commands import _uow from here

app.add_typer(partners_app, name="partners")
from creditlines.cli_reports import app as report_app  # noqa: E402 - its commands import _uow from here

app.add_typer(report_app, name="report")
from creditlines.cli_decisions import register as _register_decisions  # noqa: E402

_register_decisions(app)  # requests list|approve|reject, insurance set (SPEC §12)

from creditlines.cli_events import app as events_app  # noqa: E402 - its commands import _uow from here
from creditlines.cli_events import deliver  # noqa: E402

app.add_typer(events_app, name="events")
app.command()(deliver)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    from creditlines.db.urls import normalize

    return make_url(normalize(url)).render_as_string(hide_password=True)


def main() -> None:  # pragma: no cover
    sys.exit(app())

"""The ``creditlines`` command: serve, migrate, verify, demo, keys, …"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from creditlines.config import get_settings

app = typer.Typer(help="creditlines: credit lines of IT resellers and vendor-funded supplementary lines.",
                  no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True)


def _uow():
    from creditlines.db.engine import UnitOfWork, make_engine

    return UnitOfWork(make_engine(get_settings().database_url))


@app.command()
def migrate() -> None:
    """Apply the database migrations (idempotent)."""
    from creditlines.db.migrate import upgrade

    url = get_settings().database_url
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
    no_migrate: bool = typer.Option(False, "--no-migrate", help="do not apply migrations at start"),
) -> None:
    """Serve the HTTP API (migrations applied at start)."""
    import uvicorn

    from creditlines.db.migrate import upgrade

    settings = get_settings()
    if not no_migrate:
        upgrade(settings.database_url)
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level.lower(), access_log=False)


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
    console.print(f"key id [bold]{row.id}[/bold] ({row.role}{' @ ' + (row.distributor_id or row.vendor_id) if row.distributor_id or row.vendor_id else ''})")
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from rich.table import Table

    from creditlines.auth import service as auth

    table = Table("id", "role", "scope", "label", "created", "revoked")
    with _uow().read() as session:
        for row in auth.list_keys(session):
            table.add_row(row.id, row.role, row.distributor_id or row.vendor_id or "-", row.label or "",
                          row.created_at.isoformat(timespec="seconds"),
                          row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "")
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
    keys = demo_mod.load(_uow(), size=size, if_empty=if_empty, seed=seed, database_url=settings.database_url,
                         progress=console)
    demo_mod.print_welcome(console, keys)


@app.command()
def expire(
    as_of: str = typer.Option(None, "--as-of", help="replay a missed night: expire what ended before DATE (YYYY-MM-DD)"),
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
    from creditlines.money import for_people, from_minor

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
                reports = expiry.run_expiry(uow, as_of=day, distributor_id=distributor, dry_run=dry_run,
                                            on_progress=lambda _d, n: bar.advance(task, n))
        else:
            reports = expiry.run_expiry(uow, as_of=day, distributor_id=distributor, dry_run=dry_run)
    except expiry.FutureAsOf as exc:
        err.print(f"[red]refused[/red]: {exc}; the job never expires a line early")
        raise typer.Exit(2) from None
    except CreditLinesError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({
            "dry_run": dry_run,
            "lines_expired": sum(r.lines_expired for r in reports),
            "by_distributor": [{"distributor_id": r.distributor_id, "as_of": r.as_of.isoformat(),
                                "lines_expired": r.lines_expired,
                                "amount_transferred": {"amount": str(from_minor(r.minor_transferred, r.currency).amount),
                                                       "currency": r.currency},
                                "resellers_over_limit": r.resellers_over_limit} for r in reports]}))
        return
    if quiet:
        return
    from rich.table import Table

    locale = get_settings().locale
    table = Table("distributor", "as of", "lines expired", "moved to base", "resellers now over limit",
                  title="expiry (dry run: nothing written)" if dry_run else "expiry")
    for r in reports:
        table.add_row(r.distributor_id, r.as_of.isoformat(), str(r.lines_expired),
                      for_people(from_minor(r.minor_transferred, r.currency), locale), str(r.resellers_over_limit))
    console.print(table)


report_app = typer.Typer(help="Listings for credit officers: expiring lines, resellers over limit.",
                         no_args_is_help=True)
app.add_typer(report_app, name="report")


def _print_rows(rows, fields: list[str], fmt: str) -> None:
    import json
    from dataclasses import asdict

    from creditlines.jobs.listings import to_csv

    if fmt == "csv":
        typer.echo(to_csv(rows, fields), nl=False)
    elif fmt == "json":
        typer.echo(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        from rich.table import Table

        table = Table(*fields)
        for r in rows:
            table.add_row(*[str(v) if v is not None else "" for v in asdict(r).values()])
        console.print(table)


@report_app.command("expiring")
def report_expiring(
    distributor: str = typer.Option(..., "--distributor", "-d"),
    within_days: int = typer.Option(30, "--within-days"),
    fmt: str = typer.Option("table", "--format", help="table | csv | json"),
) -> None:
    """Vendor lines ending within N days, to warn resellers before their line ends."""
    from creditlines.errors import CreditLinesError
    from creditlines.jobs import listings

    try:
        with _uow().snapshot() as s:
            rows = list(listings.expiring(s, distributor_id=distributor, within_days=within_days))
    except CreditLinesError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None
    _print_rows(rows, listings.EXPIRING_FIELDS, fmt)


@report_app.command("over-limit")
def report_over_limit(
    distributor: str = typer.Option(..., "--distributor", "-d"),
    fmt: str = typer.Option("table", "--format", help="table | csv | json"),
) -> None:
    """Resellers whose drawn amount exceeds their current lines."""
    from creditlines.errors import CreditLinesError
    from creditlines.jobs import listings

    try:
        with _uow().snapshot() as s:
            rows = list(listings.over_limit(s, distributor_id=distributor))
    except CreditLinesError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None
    _print_rows(rows, listings.OVER_LIMIT_FIELDS, fmt)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:  # pragma: no cover
    sys.exit(app())

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

    with _uow().read() as session:
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


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:  # pragma: no cover
    sys.exit(app())

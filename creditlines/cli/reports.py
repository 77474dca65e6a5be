"""``creditlines report``: the credit officers' listings (expiring lines, resellers over limit)
as a table, CSV or JSON."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import typer

from creditlines.cli import common

if TYPE_CHECKING:
    pass

app = typer.Typer(help="Listings for credit officers: expiring lines, resellers over limit.", no_args_is_help=True)
console, err = common.console, common.err


def _print_rows(rows: Iterable[Any], fields: list[str], fmt: str) -> None:
    import json
    from dataclasses import asdict

    from creditlines.csvdoc import to_csv

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


@app.command("expiring")
def report_expiring(
    distributor: str = typer.Option(..., "--distributor", "-d"),
    within_days: int = typer.Option(30, "--within-days"),
    fmt: str = typer.Option("table", "--format", help="table | csv | json"),
) -> None:
    """Vendor lines ending within N days, to warn resellers before their line ends."""
    from creditlines.errors import CreditLinesError
    from creditlines.jobs import listings

    try:
        with common.uow().snapshot() as s:
            rows = list(listings.expiring(s, distributor_id=distributor, within_days=within_days))
    except CreditLinesError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None
    _print_rows(rows, listings.EXPIRING_FIELDS, fmt)


@app.command("over-limit")
def report_over_limit(
    distributor: str = typer.Option(..., "--distributor", "-d"),
    fmt: str = typer.Option("table", "--format", help="table | csv | json"),
) -> None:
    """Resellers whose drawn amount exceeds their current lines."""
    from creditlines.errors import CreditLinesError
    from creditlines.jobs import listings

    try:
        with common.uow().snapshot() as s:
            rows = list(listings.over_limit(s, distributor_id=distributor))
    except CreditLinesError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None
    _print_rows(rows, listings.OVER_LIMIT_FIELDS, fmt)

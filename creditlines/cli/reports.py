"""``creditlines report``: the credit officers' listings (expiring lines, resellers over limit)
as a table, CSV or JSON."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import typer

from creditlines.cli import common

if TYPE_CHECKING:
    pass

app = typer.Typer(
    help="Listings for credit officers: expiring lines, resellers over limit, ageing.", no_args_is_help=True
)
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


@app.command("ageing")
def report_ageing(
    distributor: str = typer.Option(..., "--distributor", "-d"),
    as_of: str = typer.Option(None, "--as-of", help="a local date YYYY-MM-DD (default today); past: from the ledger"),
    fmt: str = typer.Option("table", "--format", help="table | csv | json"),
) -> None:
    """Outstanding per reseller and per funder by days overdue (not due, 1–30, 31–60, 61–90, over 90)."""
    import json
    from datetime import date

    from creditlines.errors import CreditLinesError
    from creditlines.ledger import ageing

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        err.print(f"[red]validation_error[/red]: --as-of must be a date YYYY-MM-DD, not {as_of!r}")
        raise typer.Exit(2) from None
    try:
        with common.uow().snapshot() as s:
            report = ageing.ageing(s, distributor_id=distributor, as_of=day)
    except CreditLinesError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None
    if fmt == "csv":
        typer.echo(ageing.ageing_csv(report), nl=False)
    elif fmt == "json":
        typer.echo(json.dumps(ageing.document(report), indent=2))
    else:
        from rich.table import Table

        from creditlines.money import from_minor

        table = Table("scope", "id", *ageing.BUCKETS, "outstanding", title=f"Ageing at {distributor}, {report.as_of}")
        for scope, rows in (("reseller", report.resellers), ("funder", report.funders), ("total", [report.totals])):
            for row in rows:
                amounts = [row.amounts[b] for b in ageing.BUCKETS] + [row.outstanding]
                table.add_row(scope, row.key, *(str(from_minor(a, report.currency).amount) for a in amounts))
        console.print(table)

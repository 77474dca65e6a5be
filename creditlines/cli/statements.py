"""``creditlines statements``: a funder's monthly statements (SPEC §21) shown and their chain verified."""

from __future__ import annotations

import typer

from creditlines.cli import common

app = typer.Typer(help="Funders' monthly statements and their digest chain.", no_args_is_help=True)
console, err = common.console, common.err


@app.command("show")
def show(
    distributor: str = typer.Option(..., "--distributor", "-d"),
    funder: str = typer.Option(..., "--funder", "-f", help="the distributor (base lines), a vendor or a financier"),
    period: str = typer.Option(..., "--period", "-p", help="YYYY-MM, a month that has ended"),
    fmt: str = typer.Option("json", "--format", help="json (canonical, as the API serves it) or csv"),
) -> None:
    """Print one month's statement, byte for byte what the API serves."""
    from creditlines.csvdoc import to_csv
    from creditlines.errors import CreditLinesError
    from creditlines.losses import statements

    try:
        with common.uow().snapshot() as s:
            document = statements.statement(s, distributor_id=distributor, funder=funder, period=period)
    except CreditLinesError as exc:
        common.fail(exc)
    if fmt == "csv":
        typer.echo(to_csv(statements.csv_rows(document), statements.STATEMENT_FIELDS), nl=False)
    else:
        typer.echo(statements.canonical(document).decode("utf-8"))


@app.command("verify")
def verify(
    distributor: str = typer.Option(..., "--distributor", "-d"),
    funder: str = typer.Option(..., "--funder", "-f", help="the distributor (base lines), a vendor or a financier"),
) -> None:
    """Recompute the funder's chain of statements from the ledger through the last month that has
    ended, against the digests issued; exit 1 on any difference (2: refused)."""
    from creditlines.errors import CreditLinesError
    from creditlines.losses import statement_chain

    try:
        with common.uow().snapshot() as s:
            months, problems = statement_chain.verify(s, distributor_id=distributor, funder=funder)
    except CreditLinesError as exc:
        common.fail(exc)
    if problems:
        for problem in problems:
            err.print(f"[red]DIFFERENCE[/red] {problem}")
        err.print(f"[red]{len(problems)} difference(s) in {funder}'s statements at {distributor}[/red]")
        raise typer.Exit(1)
    console.print(f"[green]{months} statement(s) of {funder} at {distributor}: the chain holds[/green]")

"""``creditlines verify`` and ``creditlines expire``: the ledger checked, the nightly expiry run."""

from __future__ import annotations

import typer

from creditlines.cli.common import console, err, uow
from creditlines.config import get_settings


def verify(distributor: str = typer.Option(None, "--distributor", "-d", help="only this distributor")) -> None:
    """Recompute every balance from the ledger, and the claims from the write-offs; exit 1 on any difference."""
    from creditlines.losses.verify import verify_all as run_verify

    with uow().snapshot() as session:
        differences = run_verify(session, distributor_id=distributor)
    if differences:
        for difference in differences:
            err.print(f"[red]DIFFERENCE[/red] {difference}")
        err.print(f"[red]{len(differences)} difference(s) between balances and the ledger[/red]")
        raise typer.Exit(1)
    console.print("[green]ledger and balances agree[/green]")


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
    work = uow()
    show_progress = console.is_terminal and not (as_json or quiet)
    try:
        if show_progress:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            total = expiry.count_due(work, as_of=day)
            with Progress(TextColumn("expiring lines"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
                task = bar.add_task("expire", total=total or 1)
                reports = expiry.run_expiry(
                    work,
                    as_of=day,
                    distributor_id=distributor,
                    dry_run=dry_run,
                    on_progress=lambda _d, n: bar.advance(task, n),
                )
        else:
            reports = expiry.run_expiry(work, as_of=day, distributor_id=distributor, dry_run=dry_run)
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

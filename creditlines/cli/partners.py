"""``creditlines partners``: which vendors a distributor admits (SPEC §11), for the credit desk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from creditlines.cli import common

if TYPE_CHECKING:
    pass

app = typer.Typer(help="Partnerships: admit a vendor at a distributor, end it, list them.", no_args_is_help=True)
console, err = common.console, common.err
ACTOR = "cli:partners"


def _show(rows: Iterable[Any]) -> None:
    from creditlines.config import get_settings
    from creditlines.money import for_people, from_minor

    locale = get_settings().locale
    currencies: dict[str, str] = {}
    table = Table("distributor", "vendor", "status", "max line limit", "approval", "since", "ended", "note")
    uow = common.uow()
    with uow.read() as s:
        from creditlines.tenants import lookup

        for p in rows:
            if p.distributor_id not in currencies:
                info = lookup.get_distributor(s, p.distributor_id)
                currencies[p.distributor_id] = info.currency if info else "EUR"
            cap = (
                "-"
                if p.max_line_limit_minor is None
                else for_people(from_minor(p.max_line_limit_minor, currencies[p.distributor_id]), locale)
            )
            table.add_row(
                p.distributor_id,
                p.vendor_id,
                p.status,
                cap,
                "required" if p.requires_approval else "-",
                p.created_at.date().isoformat(),
                p.ended_at.date().isoformat() if p.ended_at else "",
                p.note or "",
            )
    console.print(table)


@app.command("admit")
def admit(
    distributor: str = typer.Option(..., "--distributor", "-d"),
    vendor: str = typer.Option(..., "--vendor", "-v"),
    max_line_limit: str = typer.Option(None, "--max-line-limit", help="e.g. 5000.00, in the distributor's currency"),
    requires_approval: bool = typer.Option(False, "--requires-approval", help="enrolments need the desk's approval"),
    note: str = typer.Option(None, "--note"),
) -> None:
    """Admit a vendor at a distributor, or set its terms (re-admits an ended partnership)."""
    from creditlines.errors import CreditLinesError
    from creditlines.money import parse_amount
    from creditlines.partnerships import service
    from creditlines.tenants import lookup

    try:
        with common.uow().write() as s:
            cap = None
            if max_line_limit is not None:
                info = lookup.get_distributor(s, distributor)
                currency = info.currency if info else "EUR"
                cap = parse_amount(max_line_limit, currency, expected_currency=currency, allow_zero=True)
            partnership, created = service.admit(
                s,
                distributor_id=distributor,
                vendor_id=vendor,
                max_line_limit=cap,
                requires_approval=requires_approval,
                note=note,
                actor=ACTOR,
            )
    except CreditLinesError as exc:
        common.fail(exc)
    console.print(f"{vendor} {'admitted' if created else 'partnership updated'} at {distributor}")
    _show([partnership])


@app.command("end")
def end(
    distributor: str = typer.Option(..., "--distributor", "-d"), vendor: str = typer.Option(..., "--vendor", "-v")
) -> None:
    """End a partnership: nothing new is granted; lines already granted run to their end."""
    from creditlines.errors import CreditLinesError
    from creditlines.partnerships import service

    try:
        with common.uow().write() as s:
            partnership = service.end(s, distributor_id=distributor, vendor_id=vendor, actor=ACTOR)
    except CreditLinesError as exc:
        common.fail(exc)
    _show([partnership])


@app.command("list")
def list_(
    distributor: str = typer.Option(None, "--distributor", "-d"), vendor: str = typer.Option(None, "--vendor", "-v")
) -> None:
    """Partnerships of a distributor (or of a vendor)."""
    from creditlines.errors import CreditLinesError
    from creditlines.partnerships import service

    if bool(distributor) == bool(vendor):
        err.print("give exactly one of --distributor or --vendor")
        raise typer.Exit(2)
    try:
        with common.uow().read() as s:
            if distributor:
                rows = service.list_for_distributor(s, distributor_id=distributor, after=None, limit=10_000)
            else:
                rows = service.list_for_vendor(s, vendor_id=vendor, after=None, limit=10_000)
    except CreditLinesError as exc:
        common.fail(exc)
    _show(rows)

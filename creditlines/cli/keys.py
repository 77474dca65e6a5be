"""``creditlines keys``: API keys created, listed and revoked by the operator."""

from __future__ import annotations

import typer

from creditlines.cli.common import console, err, uow

keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)


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
        with uow().write() as session:
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
    with uow().read() as session:
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
        with uow().write() as session:
            auth.revoke_key(session, key_id=key_id)
    except CreditLinesError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None
    console.print(f"key {key_id} revoked")

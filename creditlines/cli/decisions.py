"""``creditlines requests`` and ``creditlines insurance``: the credit desk's decisions (SPEC §12)
from the command line, through the same services as the API.

The CLI runs with the database's credentials, so it trusts the operator to name the officer
acting (``--officer``): the decision is recorded as ``cli:<officer>``, and four eyes still holds
(the requester's key or name cannot decide its own request).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import typer
from moneyed import Money
from rich.table import Table
from sqlalchemy.orm import Session

from creditlines.cli import common
from creditlines.db.engine import UnitOfWork
from creditlines.tenants import lookup

requests_app = typer.Typer(
    help="Limit requests waiting for a second officer: list, approve, reject.", no_args_is_help=True
)
insurance_app = typer.Typer(help="Insurer cover of resellers: record a decision.", no_args_is_help=True)
console, err = common.console, common.err


def register(app: typer.Typer) -> None:
    """Add ``requests`` and ``insurance`` to the main CLI (one call from ``creditlines.cli``)."""
    app.add_typer(requests_app, name="requests")
    app.add_typer(insurance_app, name="insurance")


@contextmanager
def _session(*, write: bool) -> Iterator[Session]:
    """One transaction on a unit of work of its own, whose connections are closed after it."""
    uow: UnitOfWork = common.uow()
    try:
        with uow.write() if write else uow.read() as s:
            yield s
    finally:
        uow.dispose()


def _people(minor: int | None, currency: str) -> str:
    from creditlines.config import get_settings
    from creditlines.money import for_people, from_minor

    return "-" if minor is None else for_people(from_minor(minor, currency), get_settings().locale)


def _money(s: Session, distributor: str, amount: str | None) -> Money | None:
    from creditlines.money import parse_amount

    if amount is None:
        return None
    currency = lookup.require_distributor(s, distributor).currency
    return parse_amount(amount, currency, expected_currency=currency, allow_zero=True)


@requests_app.command("list")
def list_requests(
    distributor: str = typer.Option(..., "--distributor", "-d"),
    status: str = typer.Option("pending", "--status", help="pending, approved, rejected, expired or all"),
) -> None:
    """Limit requests of a distributor, oldest first."""
    from creditlines import clock
    from creditlines.decisions import limit_requests
    from creditlines.errors import CreditLinesError

    try:
        with _session(write=False) as s:
            currency = lookup.require_distributor(s, distributor).currency
            rows = limit_requests.list_requests(
                s, distributor_id=distributor, status=None if status == "all" else status, after=None, limit=10_000
            )
    except CreditLinesError as exc:
        common.fail(exc)
    table = Table("id", "reseller", "current", "requested", "reason", "asked by", "status", "expires", "decided")
    now = clock.now()
    for r in rows:
        table.add_row(
            r.id,
            r.reseller_id,
            _people(r.current_minor, currency),
            _people(r.requested_minor, currency),
            r.reason,
            r.requested_by,
            limit_requests.effective_status(r, now),
            r.expires_at.date().isoformat(),
            _people(r.decided_limit_minor, currency),
        )
    console.print(table)


def _decide(distributor: str, request_id: str, decision: str, officer: str, reason: str, limit: str | None) -> None:
    from creditlines.decisions import limit_requests
    from creditlines.errors import CreditLinesError

    actor = f"cli:{officer}"
    try:
        with _session(write=True) as s:
            request = limit_requests.decide(
                s,
                distributor_id=distributor,
                request_id=request_id,
                decision=decision,
                limit=_money(s, distributor, limit),
                reason=reason,
                actor=actor,
                key_id=actor,
            )
            currency = lookup.require_distributor(s, distributor).currency
    except CreditLinesError as exc:
        common.fail(exc)
    console.print(
        f"{request.id}: {request.status}"
        + (f" at {_people(request.decided_limit_minor, currency)}" if request.status == "approved" else "")
    )


@requests_app.command("approve")
def approve(
    request_id: str,
    distributor: str = typer.Option(..., "--distributor", "-d"),
    officer: str = typer.Option(..., "--officer", help="who decides (recorded as cli:<officer>)"),
    reason: str = typer.Option(..., "--reason"),
    limit: str = typer.Option(None, "--limit", help="approve for less, e.g. 18000.00"),
) -> None:
    """Approve a limit request (for less with --limit): the base limit changes now."""
    _decide(distributor, request_id, "approve", officer, reason, limit)


@requests_app.command("reject")
def reject(
    request_id: str,
    distributor: str = typer.Option(..., "--distributor", "-d"),
    officer: str = typer.Option(..., "--officer", help="who decides (recorded as cli:<officer>)"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Reject a limit request: nothing changes."""
    _decide(distributor, request_id, "reject", officer, reason, None)


@insurance_app.command("set")
def set_cover(
    distributor: str = typer.Option(..., "--distributor", "-d"),
    reseller: str = typer.Option(..., "--reseller", "-r"),
    insurer: str = typer.Option(..., "--insurer"),
    cover: str = typer.Option(..., "--cover", help="e.g. 8000.00; 0 means cancelled"),
    decided_on: str = typer.Option(..., "--decided-on", help="the insurer's date, YYYY-MM-DD"),
    reference: str = typer.Option(None, "--reference"),
    officer: str = typer.Option("desk", "--officer", help="recorded as cli:<officer>"),
    effective_on: str = typer.Option(
        None, "--effective-on", help="in force from (default decided-on); later: scheduled"
    ),
) -> None:
    """Record an insurer's decision; under cover_plus_discretionary a cut lowers the base limit
    (a decision effective after today is scheduled: the nightly run applies it on its date)."""
    from creditlines.decisions import insurance
    from creditlines.errors import CreditLinesError

    try:
        day = date.fromisoformat(decided_on)
        effective = date.fromisoformat(effective_on) if effective_on else None
    except ValueError:
        err.print("[red]--decided-on and --effective-on must be dates such as 2027-01-15[/red]")
        raise typer.Exit(2) from None
    try:
        with _session(write=True) as s:
            currency = lookup.require_distributor(s, distributor).currency
            amount = _money(s, distributor, cover)
            assert amount is not None
            result = insurance.set_cover(
                s,
                distributor_id=distributor,
                reseller_id=reseller,
                insurer=insurer,
                cover=amount,
                decided_on=day,
                effective_on=effective,
                reference=reference,
                actor=f"cli:{officer}",
            )
    except CreditLinesError as exc:
        common.fail(exc)
    if not result.changed:
        console.print(f"{reseller}: the same decision was already recorded; nothing changed")
        return
    if result.scheduled:
        console.print(
            f"{reseller}: {insurer} cover {_people(result.cover.cover_minor, currency)} scheduled from {effective}"
        )
        return
    console.print(
        f"{reseller}: {insurer} cover {_people(result.cover.cover_minor, currency)}"
        + (
            f"; base limit cut from {_people(result.limit_before_minor, currency)} to "
            f"{_people(result.limit_after_minor, currency)} (insurer_cut)"
            if result.limit_cut
            else ""
        )
    )

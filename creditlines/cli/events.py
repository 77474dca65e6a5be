"""``creditlines events tail`` (the feed, live, for an operator) and ``creditlines deliver`` (the
webhook sender on its own, for deployments that run it apart from ``serve``)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import typer
from rich.text import Text

from creditlines.cli import common

app = typer.Typer(help="Events (SPEC §13): follow a distributor's or a vendor's feed.", no_args_is_help=True)
console, err = common.console, common.err

STYLES = {
    "drawing.refused": "red",
    "reseller.over_limit": "bold red",
    "reseller.utilisation_crossed": "yellow",
    "reseller.back_within_limit": "green",
    "drawing.settled": "green",
    "drawing.hold_released": "green",
    "drawing.hold_expired": "yellow",
    "financing.overdue": "red",
    "line.expiring": "yellow",
    "line.revoked": "red",
    "webhook.disabled": "bold red",
    "programme.utilisation_crossed": "yellow",
}


def _people(value: Any, locale: str) -> str:
    from moneyed import Money

    from creditlines.money import for_people

    if isinstance(value, dict) and value.keys() == {"amount", "currency"}:
        return for_people(Money(Decimal(value["amount"]), value["currency"]), locale)
    return str(value)


def summary(doc: dict[str, Any], locale: str) -> str:
    """One line a person reads: the data's fields, amounts formatted for ``locale``."""
    parts = []
    for key, value in doc["data"].items():
        if key == "allocations":
            value = ", ".join(f"{a['funder']} {_people(a['amount'], locale)}" for a in value)
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        elif value is None:
            continue
        parts.append(f"{key}={_people(value, locale)}")
    return "  ".join(parts)


@app.command()
def tail(
    distributor: str = typer.Option(None, "--distributor", "-d", help="a distributor's feed"),
    vendor: str = typer.Option(None, "--vendor", "-v", help="a vendor's feed (its programmes and lines)"),
    types: str = typer.Option(None, help="comma-separated event types"),
    from_start: bool = typer.Option(False, "--from-start", help="print the feed from its first event"),
    once: bool = typer.Option(False, "--once", help="print what is there and stop"),
    interval: float = typer.Option(1.0, help="seconds between two reads"),
) -> None:
    """Print a feed as it grows (Ctrl-C stops), one event a line, amounts for people."""
    from creditlines.config import get_settings
    from creditlines.events import feed, webhooks

    if (distributor is None) == (vendor is None):
        err.print("give --distributor or --vendor")
        raise typer.Exit(2)
    scope = feed.Scope(distributor_id=distributor, vendor_id=vendor)
    kinds = webhooks.check_types(types.split(","), partner=vendor is not None) if types else None
    locale = get_settings().locale
    uow = common.uow()
    with uow.read() as s:
        after = None if from_start else feed.current_position(s)
    try:
        while True:
            with uow.read() as s:
                events = feed.read(s, scope, after=after, limit=500, types=kinds)
                docs = feed.documents(s, events)
            for event, doc in zip(events, docs, strict=True):
                line = Text(f"{doc['occurred_at'][:19]}  ")
                line.append(f"{doc['type']:<30}", style=STYLES.get(doc["type"], "cyan"))
                line.append(f" {doc.get('reseller_id') or '-':<12} ")
                line.append(summary(doc, locale))
                console.print(line, soft_wrap=True)
                after = feed.position(event)
            if once:
                return
            if not events:
                time.sleep(interval)
    except KeyboardInterrupt:
        return
    finally:
        uow.dispose()


def deliver(once: bool = typer.Option(False, "--once", help="one round of deliveries, then stop")) -> None:
    """The webhook sender alone (``CREDITLINES_SENDER=false`` on the API servers then): safe to run
    several, they never deliver one event twice at the same moment."""
    from creditlines.config import get_settings
    from creditlines.events.sender import Sender

    uow = common.uow()
    sender = Sender(uow, get_settings())

    async def run() -> None:
        if once:
            try:
                delivered = await sender.run_once()
            finally:
                await sender.aclose()
            console.print(f"{delivered} event(s) delivered")
        else:
            await sender.run()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return
    finally:
        uow.dispose()

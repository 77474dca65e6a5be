"""The ``creditlines`` command: serve, migrate, verify, demo, keys, …

One module per command group, each importing only ``creditlines.cli.common`` and the library;
this module assembles them (nothing imports it back but the console script and ``__main__``).
"""

from __future__ import annotations

import sys

import typer

from creditlines.cli import database, decisions, demo, events, keys, ledger, partners, reports, serve, statements

app = typer.Typer(
    help="creditlines: credit lines of IT resellers and vendor-funded supplementary lines.",
    no_args_is_help=True,
    add_completion=False,
)

app.command()(database.migrate)
app.command()(ledger.verify)
app.command()(serve.serve)
app.add_typer(database.db_app, name="db")
app.add_typer(keys.keys_app, name="keys")
app.command()(demo.demo)
app.command()(ledger.expire)
app.add_typer(partners.app, name="partners")
app.add_typer(reports.app, name="report")
decisions.register(app)  # requests list|approve|reject, insurance set (SPEC §12)
app.add_typer(events.app, name="events")
app.command()(events.deliver)
app.add_typer(statements.app, name="statements")


def main() -> None:  # pragma: no cover
    sys.exit(app())

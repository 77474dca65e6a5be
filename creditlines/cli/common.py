"""What every command group of the ``creditlines`` command shares: the consoles, the unit of work
on the configured database, a URL with its password hidden, the way a refusal is printed."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

import creditlines.models  # noqa: F401 - every mapper known before the first flush
from creditlines.config import get_settings

if TYPE_CHECKING:
    from creditlines.db.engine import UnitOfWork

console = Console()
err = Console(stderr=True)


def uow() -> UnitOfWork:
    """A unit of work on CREDITLINES_DATABASE_URL (and its read replica when configured)."""
    from creditlines.db.engine import UnitOfWork, make_engine

    return UnitOfWork(make_engine(get_settings().database_url))


def redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    from creditlines.db.urls import normalize

    return make_url(normalize(url)).render_as_string(hide_password=True)


def fail(exc: Exception) -> NoReturn:
    """A domain refusal on stderr (its code and detail), exit 2."""
    err.print(f"[red]{getattr(exc, 'code', 'error')}[/red]: {getattr(exc, 'detail', exc)}")
    raise typer.Exit(2) from None

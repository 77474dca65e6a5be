"""``creditlines demo``: the field scenario loaded (creditlines.demo)."""

from __future__ import annotations

import typer

from creditlines.cli.common import console, uow
from creditlines.config import get_settings


def demo(
    size: str = typer.Option("default", help="default | large"),
    if_empty: bool = typer.Option(False, "--if-empty", help="do nothing when data is already there"),
    seed: int = typer.Option(2026, help="random seed of the generated scenario"),
    base_url: str = typer.Option("http://127.0.0.1:8000", "--base-url", help="where the API listens, for the curls"),
) -> None:
    """Load the field scenario: Actebis, ETC, Tech Data, Ingram Micro, Microsoft, HP, resellers, programmes."""
    from creditlines import demo as demo_mod

    settings = get_settings()
    keys = demo_mod.load(
        uow(), size=size, if_empty=if_empty, seed=seed, database_url=settings.database_url, progress=console
    )
    demo_mod.print_welcome(console, keys, base_url=base_url.rstrip("/"))

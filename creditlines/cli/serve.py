"""``creditlines serve``: the HTTP API (and the console) under uvicorn, migrations checked first.

The one place the library starts the application (``api.app``): the contract
"creditlines never imports api" in pyproject.toml names this module as its exception."""

from __future__ import annotations

import typer

from creditlines.cli.common import err
from creditlines.config import admin_key_problem, get_settings


def serve(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port to bind"),
    workers: int = typer.Option(1, help="worker processes"),
    no_migrate: bool = typer.Option(False, "--no-migrate", help="do not apply (or check) migrations at start"),
) -> None:
    """Serve the HTTP API. At start, migrations are applied with CREDITLINES_MIGRATION_DATABASE_URL
    when set, else with the service's URL if its role may; a role that may not (the app role)
    only checks that the schema is at head and stops if it is not."""
    import contextlib
    import logging
    import os
    import tempfile

    import uvicorn

    from creditlines.db.migrate import SchemaNotAtHead, ensure_schema

    settings = get_settings()
    if (problem := admin_key_problem(settings.admin_key)) is not None:
        err.print(f"[red]not started[/red]: {problem}")
        raise typer.Exit(2)
    if not no_migrate:
        try:
            ensure_schema(settings.database_url, settings.migration_database_url)
        except SchemaNotAtHead as exc:
            err.print(f"[red]not started[/red]: {exc}")
            raise typer.Exit(1) from None
    metrics_on = settings.metrics_token is not None or settings.metrics_port is not None
    with contextlib.ExitStack() as stack:
        if (
            metrics_on
            and workers > 1
            and not (os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir"))
        ):
            # Workers inherit the environment: each writes its samples there, /metrics adds them up.
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="creditlines-metrics-"))
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        from api.observability import configure_logging
        from creditlines import metrics

        configure_logging(settings.log_level)
        log = logging.getLogger("creditlines.metrics")
        if settings.metrics_port is not None:
            # Bound once, here, in the parent of the workers: it reads what every worker wrote.
            try:
                server = metrics.serve(settings.metrics_host, settings.metrics_port, settings.metrics_token)
            except OSError as exc:
                err.print(f"[red]cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}[/red]: {exc}")
                raise typer.Exit(2) from None
            stack.callback(server.shutdown)
            log.info(
                "metrics on http://%s:%d/metrics%s",
                settings.metrics_host,
                settings.metrics_port,
                " (bearer token required)" if settings.metrics_token else "",
            )
        elif not metrics_on:
            log.warning(
                "/metrics is off: set CREDITLINES_METRICS_TOKEN (served on the API port to that bearer "
                "token) or CREDITLINES_METRICS_PORT (served on its own port); see docs/OPERATIONS.md"
            )
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level.lower(),
            access_log=False,
        )

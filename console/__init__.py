"""The console (SPEC §14): server-rendered pages for credit officers and partner managers at
``/console``, on the library's services in-process. ``mount(app)`` attaches it to the API app."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Serve the console at ``/console`` of ``app``, on the app's unit of work."""
    from console.app import create_console

    app.mount("/console", create_console(app.state.uow), name="console")

"""FastAPI app factory."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy import text

from creditlines import __version__, clock
from creditlines.config import get_settings
from creditlines.db.engine import UnitOfWork, make_engine

log = logging.getLogger("creditlines.api")


def create_app(database_url: str | None = None) -> FastAPI:
    settings = get_settings()
    uow = UnitOfWork(make_engine(database_url or settings.database_url))
    app = FastAPI(title="creditlines", version=__version__)
    app.state.uow = uow
    if clock.is_fixed():
        log.warning("CREDITLINES_NOW is set: the clock is fixed at %s", clock.now().isoformat())

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> dict:
        with uow.read() as session:
            session.execute(text("select 1"))
        return {"status": "ready"}

    return app

"""FastAPI app factory."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

import console
import creditlines.models  # noqa: F401 - every mapper known before the first flush
from api import problems
from api.deps import KeyCache
from api.edge import BodyLimit, EncodedSlashes
from api.fast import FastLane
from api.observability import Observability, configure_logging
from api.replica import start_replica_probe, stop_replica_probe
from api.routers import (
    admin,
    controls,
    decisions,
    events,
    financings,
    held,
    jobs,
    losses,
    partnerships,
    programmes,
    resellers,
    terms,
)
from api.schemas.common import Problem
from console.web import too_large_page
from creditlines import __version__, clock, ledger
from creditlines.config import get_settings
from creditlines.db.engine import UnitOfWork, make_engine
from creditlines.db.hot import HotPath
from creditlines.events.background import start_sender, stop_sender

log = logging.getLogger("creditlines.api")

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": description}
    for code, description in {
        401: "Missing, unknown or revoked API key (`unauthenticated`)",
        403: "Outside the key's scope (`forbidden`), or a vendor the distributor never admitted "
        "(`vendor_not_admitted`), or the requester's own key deciding its limit request (`same_approver`)",
        404: "Unknown distributor, reseller or drawing (`not_found`)",
        409: "Business refusal: `insufficient_credit`, `account_on_hold`, `reseller_terminated`, "
        "`idempotency_conflict`, `release_exceeds_outstanding`, `programme_closed`, `budget_exhausted`, "
        "`partnership_ended`, `already_decided`, `request_expired`, `already_granted`, `concurrent_update`, …",
        413: "The request body is larger than 1 MiB (`payload_too_large`)",
        422: "Invalid request: `validation_error`, `invalid_amount`, `currency_mismatch`, `limit_above_partnership`, "
        "`above_insured_cap`",
    }.items()
}


def operation_id(route: APIRoute) -> str:
    """An operation's id is its route's name, a verb phrase for people (`check_eligibility`,
    `post_drawing`): what a generated client names its functions (tests/api/test_openapi_examples.py)."""
    return route.name


def create_app(database_url: str | None = None, read_database_url: str | None = None) -> FastAPI:
    settings = get_settings()
    url = database_url or settings.database_url
    uow = UnitOfWork(make_engine(url), replica_url=read_database_url or settings.read_database_url)
    hot = HotPath(url, pool_size=settings.hot_pool_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # What a worker built at start (app, routes, schemas, imports) never becomes garbage: keep the
        # cyclic collector from rescanning it on every full collection (~8 % of throughput here).
        gc.collect()
        gc.freeze()
        sending = start_sender(uow, settings)
        probing = start_replica_probe(uow)
        yield
        await stop_replica_probe(probing)
        await stop_sender(sending)
        await hot.close()

    app = FastAPI(
        lifespan=lifespan,
        title="creditlines",
        version=__version__,
        description="Base credit lines of IT resellers at distributors, and the supplementary lines vendors fund.",
        generate_unique_id_function=operation_id,
    )
    app.state.uow = uow
    app.state.hot = hot
    app.state.drawings = (
        ledger.DrawingDesk.grouped(
            uow, hot, max_size=settings.group_commit_max, in_flight=settings.group_commit_in_flight
        )
        if settings.group_commit
        else ledger.DrawingDesk(uow, hot)
    )
    app.state.key_cache = KeyCache(settings.key_cache_seconds)
    configure_logging(settings.log_level)
    problems.install(app)
    app.add_middleware(FastLane, api=app)  # innermost of ours: see api/fast.py
    app.add_middleware(EncodedSlashes)
    app.add_middleware(BodyLimit, pages={"/console/": too_large_page})  # a person gets a page
    app.add_middleware(Observability)
    app.include_router(admin.router, responses=PROBLEM_RESPONSES)
    app.include_router(resellers.router, responses=PROBLEM_RESPONSES)
    app.include_router(held.router, responses=PROBLEM_RESPONSES)
    app.include_router(financings.router, responses=PROBLEM_RESPONSES)
    app.include_router(partnerships.router, responses=PROBLEM_RESPONSES)
    app.include_router(programmes.router, responses=PROBLEM_RESPONSES)
    app.include_router(jobs.router, responses=PROBLEM_RESPONSES)
    app.include_router(terms.router, responses=PROBLEM_RESPONSES)
    app.include_router(decisions.router, responses=PROBLEM_RESPONSES)
    app.include_router(controls.router, responses=PROBLEM_RESPONSES)
    app.include_router(losses.router, responses=PROBLEM_RESPONSES)
    console.mount(app)  # the console at /console (SPEC §14)
    app.include_router(events.router, responses=PROBLEM_RESPONSES)
    if clock.is_fixed():
        log.warning("CREDITLINES_NOW is set: the clock is fixed at %s", clock.now().isoformat())

    @app.get("/healthz", tags=["operations"], name="check_health")
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], name="check_readiness")
    def readyz() -> dict[str, str]:
        """The database answers."""
        with uow.read() as session:
            session.execute(text("select 1"))
        return {"status": "ready"}

    # /metrics on the API port only with a token, and only when it is not on its own port; for any
    # other caller, method or setting it is the 404 of an unknown path, and it is not in the OpenAPI.
    app.state.metrics_token = settings.metrics_token if settings.metrics_port is None else None

    @app.api_route(
        "/metrics", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False
    )
    def prometheus(request: Request) -> Response:
        """Requests and latency by route, drawings by outcome, grants by programme, expiry runs."""
        from creditlines import metrics

        if request.method != "GET" or not metrics.authorized(
            request.headers.get("authorization"), request.app.state.metrics_token
        ):
            raise StarletteHTTPException(404, "Not Found")
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for code, response in operation.get("responses", {}).items():
                    if code.isdigit() and int(code) >= 400:
                        response["content"] = {
                            problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                        }
        schema["components"]["schemas"].pop("HTTPValidationError", None)
        schema["components"]["schemas"].pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app

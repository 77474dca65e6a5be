"""RFC 9457 problem+json for every refusal, validation included; never a bare 500."""

from __future__ import annotations

import logging

import psycopg
import psycopg_pool
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import render
from api.edge import MAX_BODY, payload_too_large
from creditlines import errors
from creditlines.db.retry import is_transient, sqlstate
from creditlines.money import Money

log = logging.getLogger("creditlines.api")

STATUS = {
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.ValidationFailed: 422,
    errors.InvalidAmount: 422,
    errors.CurrencyMismatch: 422,
    errors.InsufficientCredit: 409,
    errors.AccountOnHold: 409,
    errors.OverdueStop: 409,
    errors.ResellerTerminated: 409,
    errors.IdempotencyConflict: 409,
    errors.ReleaseExceedsOutstanding: 409,
    errors.ProgrammeClosed: 409,
    errors.BudgetExhausted: 409,
    errors.Conflict: 409,
    errors.VendorNotAdmitted: 403,
    errors.PartnershipEnded: 409,
    errors.LimitAbovePartnership: 422,
    errors.ConcurrentUpdate: 409,
    errors.ApprovalRequired: 409,
    errors.SameApprover: 403,
    errors.AlreadyDecided: 409,
    errors.RequestExpired: 409,
    errors.AboveInsuredCap: 422,
    errors.AlreadyGranted: 409,
    errors.LimitChanged: 409,
    errors.PolicyChanged: 409,
    errors.WebhookUrlNotAllowed: 422,
    errors.NotHeld: 409,
    errors.NotInDefault: 409,
    errors.AlreadyInDefault: 409,
    errors.NothingOutstanding: 409,
    errors.AlreadySettled: 409,
    errors.PeriodNotClosed: 409,
}
MEDIA_TYPE = "application/problem+json"


def problem(
    status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None, **extra
) -> JSONResponse:
    body = {
        "type": f"https://creditlines.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    for key, value in extra.items():
        body[key] = render.document(value) if isinstance(value, Money) else value
    if headers is None:
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {"Retry-After": "1"} if status == 503 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _validation_code(exc: RequestValidationError) -> tuple[str, str]:
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        if "amount" in loc or "limit" in loc:
            return "invalid_amount", 'Amounts are decimal strings such as "5000.00", never numbers.'
    return "validation_error", "The request does not match the API's schema."


def domain_problem(exc: errors.CreditLinesError) -> JSONResponse:
    """A refusal of the library as its problem document, with its status."""
    status = STATUS.get(type(exc), 409 if exc.code != "error" else 400)
    return problem(status, exc.code, exc.title, exc.detail, **exc.extra)


def unavailable_problem(exc: Exception) -> JSONResponse:
    """The database errors that are not the request's fault: a conflict that escaped the retries
    (409 ``concurrent_update``), or no primary in reach (503 ``database_unavailable``: down, in
    a failover, or a demoted primary that only reads)."""
    if is_transient(exc):  # a deadlock that escaped the service's retries: not an outage
        log.error("transient database conflict: %s", exc)
        return problem(
            409,
            errors.ConcurrentUpdate.code,
            errors.ConcurrentUpdate.title,
            "The request collided with concurrent updates and was not applied; retry it.",
        )
    log.error("database unavailable: %s", exc)
    return problem(
        503,
        "database_unavailable",
        "Database unavailable",
        "No database primary can be reached at the moment (an outage or a failover). Retry the same "
        "request after Retry-After seconds: a drawing's reference makes the retry safe, it is posted once.",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


RETRY_AFTER_S = 1
READ_ONLY = "25006"  # read_only_sql_transaction: the server reached is (again) a standby
UNAVAILABLE = (
    psycopg.OperationalError,
    psycopg.errors.ReadOnlySqlTransaction,
    psycopg_pool.PoolTimeout,
    sqlalchemy.exc.OperationalError,
)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.CreditLinesError)
    async def domain_error(_request: Request, exc: errors.CreditLinesError):
        return domain_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        code, title = _validation_code(exc)
        details = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        )
        return problem(422, code, title, details[:1000])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        if exc.status_code == 413:
            return payload_too_large(MAX_BODY)
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
        code = codes.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail))

    async def database_unavailable(_request: Request, exc: Exception):
        return unavailable_problem(exc)

    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, database_unavailable)

    @app.exception_handler(sqlalchemy.exc.InternalError)
    async def internal_database_error(_request: Request, exc: sqlalchemy.exc.InternalError):
        if sqlstate(exc) == READ_ONLY:  # a write that reached a demoted primary
            return unavailable_problem(exc)
        log.exception("unexpected database error")  # pragma: no cover - a bug by definition
        return problem(500, "internal_error", "Internal error", "An unexpected error occurred; nothing was posted.")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception):  # pragma: no cover - a bug by definition
        log.exception("unexpected error")
        return problem(500, "internal_error", "Internal error", "An unexpected error occurred; nothing was posted.")

"""The console's application: sign-in and sign-out, the session and CSRF checks, rendering and
errors. The officer's and the partner manager's pages are routers of their own."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from console import fmt
from console import library as lib
from console.nav import nav_for
from console.session import (
    COOKIE,
    MAX_AGE_SECONDS,
    ConsoleSettings,
    SessionData,
    Signer,
    new_csrf,
    same_token,
    signing_secret,
)

HERE = Path(__file__).parent
log = logging.getLogger("creditlines.console")
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(fmt=fmt)
SIGN_IN_ROLES = ("credit_officer", "partner_manager", "admin")
ROLE_NAMES = {"credit_officer": "Credit officer", "partner_manager": "Partner manager", "admin": "Administrator"}


class NeedSignIn(Exception):
    pass


class CsrfRefused(Exception):
    pass


@dataclass(frozen=True)
class Viewer:
    principal: lib.Principal
    csrf: str
    scope_label: str

    @property
    def role(self) -> str:
        return self.principal.role


def _now() -> int:
    return int(lib.clock.now().timestamp())


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def _session(request: Request) -> SessionData | None:
    return _signer(request).loads(request.cookies.get(COOKIE), now=_now())


def set_session(request: Request, response: Response, data: SessionData) -> None:
    response.set_cookie(
        COOKIE,
        _signer(request).dumps(data),
        max_age=MAX_AGE_SECONDS,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def _secure(request: Request) -> bool:
    return bool(request.app.state.secure_cookie) or request.url.scheme == "https"


def _scope_label(session_db: Any, principal: lib.Principal) -> str:
    role = ROLE_NAMES.get(principal.role, principal.role)
    if principal.distributor_id:
        return f"{role} · {lib.require_distributor(session_db, principal.distributor_id).name}"
    if principal.vendor_id:
        vendors = {v.id: v.name for v in lib.list_vendors(session_db)}
        return f"{role} · {vendors.get(principal.vendor_id, principal.vendor_id)}"
    return role


def viewer(request: Request) -> Viewer:
    """The signed-in key, re-read on every request (a revoked key ends its sessions)."""
    data = _session(request)
    if data is None or data.key_id is None:
        raise NeedSignIn()
    with request.app.state.uow.read() as s:
        found = lib.stored_key(s, data.key_id)
        if found is None or not same_token(_signer(request).fingerprint(found[1]), data.fingerprint):
            raise NeedSignIn()
        if lib.console_session_ended(s, data.csrf):  # signed out: a copy of the cookie is refused too
            raise NeedSignIn()
        principal = found[0]
        label = _scope_label(s, principal)
    return Viewer(principal, data.csrf, label)


async def checked_form(request: Request) -> FormData:
    """The posted form, only when its ``csrf`` field is this session's token."""
    form = await request.form()
    data = _session(request)
    token = form.get("csrf")
    if data is None or not isinstance(token, str) or not same_token(token, data.csrf):
        raise CsrfRefused()
    return form


async def maybe_viewer(request: Request) -> Viewer | None:
    """Who is signed in, for an error page (its scope shown), or nobody."""
    from fastapi.concurrency import run_in_threadpool

    try:
        return await run_in_threadpool(viewer, request)
    except (NeedSignIn, lib.CreditLinesError):
        return None


def render(
    request: Request, who: Viewer | None, template: str, status_code: int = 200, /, **context: Any
) -> HTMLResponse:
    context.update(
        request=request,
        who=who,
        nav=nav_for(who.principal) if who else [],
        csrf=who.csrf if who else context.get("csrf"),
    )
    response: HTMLResponse = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        "script-src 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    return response


def error_status(exc: lib.CreditLinesError) -> int:
    from api.problems import STATUS

    return STATUS.get(type(exc), 409 if exc.code != "error" else 400)


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse("/console" + path, status_code=303)


def home_path(principal: lib.Principal) -> str:
    if principal.role == "credit_officer":
        return f"/distributors/{principal.distributor_id}/resellers"
    if principal.role == "partner_manager":
        return f"/vendors/{principal.vendor_id}/programmes"
    return "/home"


def _safe_next(target: str | None) -> str | None:
    """Only a path of this console: never another site."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def too_large_page(scope: Scope, limit: int) -> Response:
    """The 413 of SPEC §15 for a person (``api.edge.BodyLimit`` answers it for /console paths):
    the same code as the API's problem, on a page; the connection is closed unread."""
    response = render(
        Request(scope),
        None,
        "error.html",
        413,
        title="File too large",
        message=f"What you sent is larger than {limit // (1024 * 1024)} MiB and was not read. "
        "Split the list into smaller files, or paste fewer rows.",
        code="payload_too_large",
    )
    response.headers["Connection"] = "close"
    return response


def create_console(uow: lib.UnitOfWork) -> FastAPI:
    from console import controls, decisions, officer, partner

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.uow = uow
    app.state.signer = Signer(signing_secret())
    app.state.secure_cookie = ConsoleSettings().secure_cookie
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(NeedSignIn)
    async def need_sign_in(request: Request, _exc: NeedSignIn) -> Response:
        if request.method not in ("GET", "HEAD"):  # a form's address is no page to come back to
            return RedirectResponse("/console/sign-in", status_code=303)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/sign-in?next={quote(target)}", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: CsrfRefused) -> Response:
        return render(
            request,
            None,
            "error.html",
            403,
            title="Form refused",
            message="This form did not come from your current session (it may have expired). "
            "Go back, reload the page and try again.",
            code="csrf_failed",
        )

    @app.exception_handler(lib.CreditLinesError)
    async def domain_error(request: Request, exc: lib.CreditLinesError) -> Response:
        status = error_status(exc)
        title = {403: "Not in your scope", 404: "Not found"}.get(status, exc.title)
        return render(
            request, await maybe_viewer(request), "error.html", status, title=title, message=exc.detail, code=exc.code
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        who = await maybe_viewer(request)
        return render(
            request,
            who,
            "error.html",
            422,
            title="Invalid request",
            code="validation_error",
            message="; ".join(str(e.get("msg", "")) for e in exc.errors())[:500],
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        who = await maybe_viewer(request)
        return render(
            request,
            who,
            "error.html",
            exc.status_code,
            title="Not found" if exc.status_code == 404 else "Refused",
            message=str(exc.detail),
            code="not_found" if exc.status_code == 404 else "error",
        )

    @app.get("/", include_in_schema=False)
    def index(who: Viewer = Depends(viewer)) -> Response:
        return redirect(home_path(who.principal))

    @app.get("/sign-in", response_class=HTMLResponse)
    def sign_in_page(request: Request, next: str | None = None) -> Response:
        data = _session(request) or SessionData(csrf=new_csrf(), issued=_now())
        response = render(request, None, "sign_in.html", csrf=data.csrf, next=_safe_next(next))
        set_session(request, response, data)
        return response

    @app.post("/sign-in", response_class=HTMLResponse)
    def sign_in(request: Request, form: FormData = Depends(checked_form)) -> Response:
        token = form.get("api_key")
        token = token.strip() if isinstance(token, str) else None  # pasted from a terminal: never part of a key
        target = _safe_next(str(form.get("next") or ""))
        with uow.read() as s:
            try:
                principal = lib.authenticate(s, token, bootstrap_admin_key=lib.get_settings().admin_key)
            except lib.Unauthenticated:
                principal = None
            found = lib.stored_key(s, principal.key_id) if principal else None
        if principal is None or found is None or principal.role not in SIGN_IN_ROLES:
            message = (
                "This key is for an ERP integration, not for people: sign in with a credit officer's "
                "or a partner manager's key."
                if principal is not None and found is not None
                else "Unknown or revoked API key."
            )
            data = _session(request) or SessionData(csrf=new_csrf(), issued=_now())
            return render(request, None, "sign_in.html", 401, csrf=data.csrf, next=target, error=message)
        data = SessionData(
            csrf=new_csrf(), issued=_now(), key_id=principal.key_id, fingerprint=_signer(request).fingerprint(found[1])
        )
        response = RedirectResponse(target or "/console" + home_path(principal), status_code=303)
        set_session(request, response, data)
        log.info("console sign-in", extra={"key_id": principal.key_id, "role": principal.role})
        return response

    @app.post("/sign-out")
    def sign_out(request: Request, _form: FormData = Depends(checked_form)) -> Response:
        data = _session(request)
        if data is not None and data.key_id is not None:  # ended on the server, not only in this browser
            with uow.write() as s:
                lib.end_console_session(
                    s,
                    session_token=data.csrf,
                    key_id=data.key_id,
                    expires_at=datetime.fromtimestamp(data.issued + MAX_AGE_SECONDS, UTC),
                )
        response = RedirectResponse("/console/sign-in?signed_out=1", status_code=303)
        response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict", secure=_secure(request))
        return response

    @app.get("/home", response_class=HTMLResponse)
    def admin_home(request: Request, who: Viewer = Depends(viewer)) -> Response:
        lib.authorise(who.principal, roles=())
        with uow.read() as s:
            distributors = [(d.id, d.name) for d in lib.list_distributors(s)]
            vendors = [(v.id, v.name) for v in lib.list_vendors(s)]
        return render(request, who, "home.html", distributors=distributors, vendors=vendors)

    app.include_router(officer.router)
    app.include_router(partner.router)
    app.include_router(decisions.router)
    app.include_router(controls.router)
    return app

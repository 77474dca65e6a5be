"""The console's application: its error pages, sign-in and sign-out, and the pages of officers
(``officer``), partner managers (``partner``) and decisions (``decisions``) mounted on it.
``api.app`` mounts it at ``/console`` (``console.mount``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from console import ageing, controls, decisions, losses, officer, partner
from console import library as lib
from console.session import COOKIE, MAX_AGE_SECONDS, ConsoleSettings, SessionData, Signer, new_csrf, signing_secret
from console.web import (
    HERE,
    SIGN_IN_ROLES,
    CsrfRefused,
    NeedSignIn,
    Viewer,
    _now,
    _safe_next,
    _secure,
    _session,
    _signer,
    checked_form,
    error_status,
    home_path,
    maybe_viewer,
    redirect,
    render,
    set_session,
    viewer,
)

log = logging.getLogger("creditlines.console")


def create_console(uow: lib.UnitOfWork) -> FastAPI:
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
    app.include_router(ageing.router)
    app.include_router(partner.router)
    app.include_router(decisions.router)
    app.include_router(controls.router)
    app.include_router(losses.router)
    return app

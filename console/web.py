"""The console's application: sign-in and sign-out, the session and CSRF checks, rendering and
errors. The officer's and the partner manager's pages are routers of their own."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.types import Scope

from console import fmt
from console import library as lib
from console.nav import nav_for
from console.session import (
    COOKIE,
    MAX_AGE_SECONDS,
    SessionData,
    Signer,
    same_token,
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
    """The 413 of SPEC §15 for a person (``api.app`` hands it to ``api.edge.BodyLimit`` for /console paths):
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

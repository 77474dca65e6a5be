"""The fast lane of the two hot endpoints: eligibility checks and drawings without the framework's
per-request machinery (routing, dependency solving, response wrapping).

A pure ASGI middleware, innermost of ours (after request ids and metrics, the body limit and the
encoded slashes), in front of FastAPI's router. For ``POST …/resellers/{r}/eligibility`` and
``POST …/resellers/{r}/drawings`` it runs the same functions as the FastAPI routes, in the same
order: the cached API key (``api.deps``), ``authorise`` (role and the key's distributor before
anything is read), the request models of ``api.schemas.drawings``, ``parse_amount``, the library call
(``ledger.decide_now`` / ``ledger.DrawingRequest`` and the ``DrawingDesk``) and ``api.render``.

Anything it does not handle the common way goes to the FastAPI route with the body it read, so
every refusal is written by the same code as everywhere else: an unknown or uncached key, a body
that is not JSON or not the model, a refusal raised *before* anything is posted (scope, currency,
amount, unknown distributor or reseller). Once a drawing has been posted (the point of no return:
the route would post it again), its refusal or a database error is rendered here by the same
``api.problems`` functions as the exception handlers. The routes stay the reference: the OpenAPI
document, schemathesis and every API test go through this lane first, then through them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.deps import KeyCache
from api.routers.resellers import drawing_answer, drawing_request, eligibility_answer
from api.schemas.drawings import DrawingIn, EligibilityIn
from creditlines import ledger
from creditlines.auth.service import Principal, authorise
from creditlines.errors import CreditLinesError
from creditlines.validation import is_identifier, is_tenant_id

_PATH = re.compile(r"/v1/distributors/([^/]+)/resellers/([^/]+)/(eligibility|drawings)")
ROLES = ("credit_officer", "integration")
JSON = (b"application/json",)


class _Fallback(Exception):
    """The request goes to the FastAPI route (which answers it, or refuses it as usual)."""


class FastLane:
    def __init__(self, app: ASGIApp, api: Any) -> None:
        self.app, self.api = app, api
        self._routes: dict[str, Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _PATH.fullmatch(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        distributor_id, reseller_id, what = match.groups()
        headers = dict(reversed(scope["headers"]))  # the first of a repeated header, as Starlette reads it
        body: bytes | None = None  # read, the route gets it replayed
        try:
            if not is_tenant_id(distributor_id) or not is_identifier(reseller_id):  # the routes' path types
                raise _Fallback
            if headers.get(b"content-type", b"").split(b";")[0].strip().lower() not in JSON:
                raise _Fallback
            principal = self._principal(headers.get(b"authorization"))
            scope["route"] = self._route(what)  # the metrics' route label, as the router would set it
            body = await _read(receive)
            authorise(principal, roles=ROLES, distributor_id=distributor_id, vendor_id=None)
            distributor = self.api.state.uow.distributors.get(distributor_id)
            if distributor is None:  # not cached yet: the route reads it (and caches it)
                raise _Fallback
            document = json.loads(body)
            if what == "eligibility":
                response = await self._eligibility(distributor, reseller_id, EligibilityIn.model_validate(document))
            else:
                request = drawing_request(distributor, reseller_id, DrawingIn.model_validate(document), principal.actor)
        except (_Fallback, CreditLinesError, ValidationError, ValueError, RecursionError):
            await self.app(scope, receive if body is None else _replay(body, receive), send)
            return
        if what == "drawings":  # outside the try: once posted, nothing goes back to the route
            response = await self._drawing(request)
        await response(scope, receive, send)

    def _principal(self, authorization: bytes | None) -> Principal:
        """The key's principal from the per-process cache (a miss goes to the route, which reads it)."""
        scheme, _, token = (authorization or b"").decode("latin-1").partition(" ")
        token = token.strip()  # as FastAPI's get_authorization_scheme_param reads it
        if scheme.lower() != "bearer" or not token:
            raise _Fallback
        cache: KeyCache = self.api.state.key_cache
        principal = cache.get(KeyCache.digest(token))
        if principal is None:
            raise _Fallback
        return principal

    async def _eligibility(self, distributor: Any, reseller_id: str, body: EligibilityIn) -> Any:
        try:
            return await eligibility_answer(self.api.state, distributor, reseller_id, body)
        except problems.UNAVAILABLE as exc:  # outside FastAPI's handlers here: the same answer, 503
            return problems.unavailable_problem(exc)

    async def _drawing(self, request: ledger.DrawingRequest) -> Any:
        # The point of no return: from here on the drawing may be posted, so nothing falls back.
        try:
            return await drawing_answer(self.api.state, request)
        except CreditLinesError as exc:
            return problems.domain_problem(exc)
        except problems.UNAVAILABLE as exc:
            return problems.unavailable_problem(exc)

    def _route(self, what: str) -> Any:
        if self._routes is None:
            self._routes = {
                route.path.rsplit("/", 1)[-1]: route
                for route in self.api.routes
                if getattr(route, "path", "").endswith(("/resellers/{reseller_id}/eligibility", "/drawings"))
                and "POST" in getattr(route, "methods", ())
            }
        return self._routes.get(what)


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: let the route see it
            raise _Fallback
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for the route: the body already read, then the connection's own messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

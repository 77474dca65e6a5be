"""Pure ASGI middlewares at the edge, before FastAPI sees the request (SPEC §15).

* :class:`BodyLimit`: a body above 1 MiB is ``413 payload_too_large`` before it is read in full —
  at once from its ``Content-Length``, or as soon as the bytes received pass the limit (chunked).
* :class:`EncodedSlashes`: servers decode ``%2F`` into ``/`` in ``scope["path"]``, so a reference
  such as ``FA/2026/0042`` sent as ``FA%2F2026%2F0042`` would split the path and match no route.
  When the raw path holds a ``%``, the path is rebuilt from it with ``/`` (and ``%``) kept encoded
  inside each segment; the reference's path type decodes them (``validation.path_reference``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import unquote

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 1024 * 1024


class PayloadTooLarge(HTTPException):
    """Raised from ``receive`` when the body passes the limit; FastAPI lets HTTPExceptions through
    its body parsing, and ``api.problems`` renders it as ``payload_too_large``."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes", headers={"Connection": "close"})


def payload_too_large(limit: int) -> JSONResponse:
    """413 (SPEC §15) as problem+json; the connection is closed, so the rest of the body is never
    read. Rendered here, at the edge, which imports nothing of the API or the console."""
    body = {
        "type": "https://creditlines.dev/problems/payload_too_large",
        "title": "Payload too large",
        "status": 413,
        "detail": f"The request body is larger than {limit} bytes (1 MiB); it was not read.",
        "code": "payload_too_large",
    }
    return JSONResponse(body, status_code=413, media_type="application/problem+json", headers={"Connection": "close"})


TooLargePage = Callable[[Scope, int], ASGIApp]


class BodyLimit:
    """Refuses a body above ``max_body`` before it is read in full. ``pages`` maps a path prefix to
    the page a person gets instead of the problem (``api.app`` passes the console's for
    ``/console/``: the edge never imports the console)."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, pages: Mapping[str, TooLargePage] | None = None) -> None:
        self.app, self.max_body, self.pages = app, max_body, dict(pages or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_body + 1  # unreadable length: refuse rather than trust it
                if declared > self.max_body:
                    await self._refuse(scope, receive, send)
                    return
                break
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise PayloadTooLarge(self.max_body)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except PayloadTooLarge:
            if started:  # the app had already answered; nothing more can be said
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        for prefix, page in self.pages.items():
            if path.startswith(prefix):  # a person's upload: a page
                await page(scope, self.max_body)(scope, receive, send)
                return
        await payload_too_large(self.max_body)(scope, receive, send)


class EncodedSlashes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path")
        if scope["type"] == "http" and raw and b"%" in raw:
            path = _keep_encoded_slashes(scope["path"], raw)
            if path is not None:
                scope["path"] = path  # in place: the access log reads the route the router sets here
        await self.app(scope, receive, send)


def _keep_encoded_slashes(path: str, raw: bytes) -> str | None:
    """``path`` with, inside each segment of ``raw``, ``%`` and ``/`` kept as ``%25`` and ``%2F``;
    None when ``raw`` does not decode to the end of ``path`` (then the path is left as it is)."""
    try:
        raw_text = raw.decode("ascii").split("?", 1)[0]
    except UnicodeDecodeError:
        return None
    decoded = unquote(raw_text)
    if not path.endswith(decoded):
        return None
    segments = (unquote(s).replace("%", "%25").replace("/", "%2F") for s in raw_text.split("/"))
    return path[: len(path) - len(decoded)] + "/".join(segments)

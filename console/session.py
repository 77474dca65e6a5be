"""The console's session: a signed cookie (stdlib HMAC-SHA256), HttpOnly, SameSite=Strict,
Secure over HTTPS, holding the key's id, a fingerprint of its secret (never the key), the CSRF
token and when it was issued. Every request re-reads the key: a revoked key ends its sessions.

The signing secret is ``CREDITLINES_CONSOLE_SECRET``, else a random one kept in
``var/console-secret`` (created 0600 on first use, shared by every worker of the machine)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

COOKIE = "creditlines_console"
MAX_AGE_SECONDS = 8 * 3600  # a working day


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDITLINES_CONSOLE_", extra="ignore")

    secret: str | None = None
    secret_file: str = "var/console-secret"
    # Mark the cookie Secure whatever the scheme the server sees (TLS ended at a proxy that is
    # not in uvicorn's FORWARDED_ALLOW_IPS); over HTTPS it is Secure anyway.
    secure_cookie: bool = False


def _file_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def signing_secret() -> bytes:
    """The configured secret, else the file's; where the file cannot be written (a read-only
    working directory), a secret of this process only, said once in the log: the API still
    starts, and console sessions then last as long as the process and its worker."""
    settings = ConsoleSettings()
    value = settings.secret
    if not value:
        try:
            value = _file_secret(Path(settings.secret_file))
        except OSError as exc:
            logging.getLogger("creditlines.console").warning(
                "console sessions are per process (%s: %s): set CREDITLINES_CONSOLE_SECRET", settings.secret_file, exc
            )
            value = secrets.token_urlsafe(32)
    if len(value) < 16:
        raise RuntimeError("CREDITLINES_CONSOLE_SECRET must be at least 16 characters")
    return value.encode()


@dataclass(frozen=True)
class SessionData:
    csrf: str
    issued: int
    key_id: str | None = None
    fingerprint: str | None = None


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def fingerprint(self, key_secret: str) -> str:
        """Binds a session to one key's secret without holding it: changing the key ends it."""
        return hmac.new(self._secret, b"key:" + key_secret.encode(), hashlib.sha256).hexdigest()[:32]

    def dumps(self, data: SessionData) -> str:
        doc = {"c": data.csrf, "t": data.issued, "k": data.key_id, "f": data.fingerprint}
        body = base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).rstrip(b"=")
        return f"{body.decode()}.{self._mac(body)}"

    def loads(self, cookie: str | None, *, now: int) -> SessionData | None:
        """The session if the cookie is one we signed, not older than the maximum age."""
        if not cookie or len(cookie) > 2000 or "." not in cookie:
            return None
        body, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac.encode(), self._mac(body.encode()).encode()):  # bytes: any text compares
            return None
        try:
            doc = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            data = SessionData(csrf=str(doc["c"]), issued=int(doc["t"]), key_id=doc.get("k"), fingerprint=doc.get("f"))
        except (ValueError, KeyError, TypeError):
            return None
        if not 0 <= now - data.issued <= MAX_AGE_SECONDS:
            return None
        return data


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    # compared as bytes: compare_digest raises TypeError on str with non-ASCII characters (a 500)
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())

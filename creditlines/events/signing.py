"""Webhook secrets: signing, rotation, and encryption at rest (SPEC §13, §23).

A secret must be kept to sign, so it cannot be hashed. With ``CREDITLINES_SECRET_KEY`` set
(Fernet keys, comma-separated: the first encrypts, every one decrypts, so keys can be rotated)
secrets are stored as ``fernet:<token>``; without it they are stored as given (documented in
docs/OPERATIONS.md). A stored value without the prefix is a plain secret — rows written before
a key was configured keep working, and are encrypted when their secret is next rotated.

After ``POST /v1/webhooks/{id}/secret`` the previous secret signs too for 24 h:
``Creditlines-Signature: v1=<new>,v1=<old>``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"
ROTATION_OVERLAP = timedelta(hours=24)


class SecretUnavailable(Exception):
    """A stored secret is encrypted and no configured key opens it."""


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])


def seal(secret: str, keys: str | None) -> str:
    """The secret as stored: encrypted with the first key, or as given without keys."""
    if not keys:
        return secret
    return PREFIX + _fernet(keys).encrypt(secret.encode()).decode()


def unseal(stored: str, keys: str | None) -> str:
    """The secret a stored value holds."""
    if not stored.startswith(PREFIX):
        return stored
    if not keys:
        raise SecretUnavailable("the secret is encrypted and CREDITLINES_SECRET_KEY is not set")
    try:
        return _fernet(keys).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SecretUnavailable("no key of CREDITLINES_SECRET_KEY opens the stored secret") from None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with one secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signatures(secrets: list[str], timestamp: str, body: bytes) -> str:
    """The header's value: one ``v1=`` per secret in force, the newest first."""
    return ",".join(signature(s, timestamp, body) for s in secrets)


def in_force(current: str, previous: str | None, previous_until: datetime | None, now: datetime) -> list[str]:
    """The secrets that sign at ``now``: the current one, and the previous one during the overlap."""
    if previous is not None and previous_until is not None and now < previous_until:
        return [current, previous]
    return [current]

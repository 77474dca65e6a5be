"""Webhook secrets (SPEC §23): rotated with `POST /v1/webhooks/{id}/secret` (the new one shown once,
both signatures for 24 h), and encrypted at rest with Fernet when `CREDITLINES_SECRET_KEY` is set —
rows stored before a key was configured keep working."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy import text

from creditlines.config import Settings, get_settings
from creditlines.events import signing
from creditlines.events.sender import Sender
from tests.events.receiver import Receiver
from tests.events.test_webhooks import SETTINGS, later, order, poll, subscribe

KEY = Fernet.generate_key().decode()
OLD_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("CREDITLINES_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def r1(api):
    api.put("/v1/distributors/actebis/resellers/R-1", json={"name": "R-1"})
    limit = {"limit": {"amount": "1000.00", "currency": "EUR"}, "reason": "cover"}
    assert api.put("/v1/distributors/actebis/resellers/R-1/base-limit", json=limit).status_code == 200
    return api


def signed_by(secret: str, headers: dict, body: bytes) -> bool:
    """What README.md shows a receiver doing: any `v1=` of the header may match."""
    timestamp = headers["Creditlines-Timestamp"]
    expected = "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, given) for given in headers["Creditlines-Signature"].split(","))


def stored(api, hook_id: str) -> tuple[str, str | None]:
    with api.uow.read() as s:
        row = s.execute(text("SELECT secret, previous_secret FROM webhook WHERE id = :id"), {"id": hook_id}).one()
    return row[0], row[1]


def use_key(monkeypatch, keys: str | None) -> Settings:
    if keys is None:
        monkeypatch.delenv("CREDITLINES_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("CREDITLINES_SECRET_KEY", keys)
    get_settings.cache_clear()
    return SETTINGS.model_copy(update={"secret_key": keys})


def test_a_rotated_secret_signs_beside_the_old_one_for_24_hours(r1, receiver):
    api = r1
    hook = subscribe(api, receiver)
    old = hook["secret"]
    rotated = api.post(f"/v1/webhooks/{hook['id']}/secret")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old
    assert rotated.json()["previous_secret_until"].startswith("2026-03-03T09:00:00")
    assert api.get(f"/v1/webhooks/{hook['id']}").json().get("secret") is None  # shown once
    order(api, "FA-1", "10.00")
    assert poll(Sender(api.uow, SETTINGS)) == 1
    got = receiver.requests[-1]
    first, second = got.headers["Creditlines-Signature"].split(",")
    assert first == signing.signature(new, got.headers["Creditlines-Timestamp"], got.body)
    assert second == signing.signature(old, got.headers["Creditlines-Timestamp"], got.body)
    assert signed_by(new, got.headers, got.body) and signed_by(old, got.headers, got.body)
    later(24 * 3600)
    order(api, "FA-2", "10.00")
    assert poll(Sender(api.uow, SETTINGS)) == 1
    got = receiver.requests[-1]
    assert signed_by(new, got.headers, got.body) and not signed_by(old, got.headers, got.body)
    assert "," not in got.headers["Creditlines-Signature"]


def test_only_who_may_see_a_webhook_may_rotate_its_secret(r1, receiver):
    api = r1
    hook = subscribe(api, receiver)
    assert api.post(f"/v1/webhooks/{hook['id']}/secret", who="partner").status_code == 404
    assert api.post(f"/v1/webhooks/{hook['id']}/secret", who="integration").status_code == 403
    assert api.post("/v1/webhooks/wh_nope/secret").status_code == 404
    assert api.post(f"/v1/webhooks/{hook['id']}/secret", who="admin").status_code == 200


def test_secrets_are_encrypted_at_rest_when_a_key_is_configured(r1, receiver, monkeypatch):
    api = r1
    settings = use_key(monkeypatch, KEY)
    hook = subscribe(api, receiver)
    at_rest, _ = stored(api, hook["id"])
    assert at_rest.startswith("fernet:") and hook["secret"] not in at_rest
    order(api, "FA-1", "10.00")
    assert poll(Sender(api.uow, settings)) == 1
    assert signed_by(hook["secret"], receiver.requests[0].headers, receiver.requests[0].body)
    # A sender without the key cannot sign: it sends nothing (and does not fail the endpoint).
    order(api, "FA-2", "10.00")
    assert poll(Sender(api.uow, SETTINGS)) == 0
    assert len(receiver.requests) == 1
    assert api.get(f"/v1/webhooks/{hook['id']}").json()["attempts"] == 0


def test_rows_stored_before_a_key_keep_working_and_are_encrypted_at_rotation(r1, receiver, monkeypatch):
    api = r1
    use_key(monkeypatch, None)
    hook = subscribe(api, receiver)
    assert stored(api, hook["id"])[0] == hook["secret"]  # no key: stored as given (documented)
    settings = use_key(monkeypatch, f"{KEY},{OLD_KEY}")
    order(api, "FA-1", "10.00")
    assert poll(Sender(api.uow, settings)) == 1
    assert signed_by(hook["secret"], receiver.requests[0].headers, receiver.requests[0].body)
    new = api.post(f"/v1/webhooks/{hook['id']}/secret").json()["secret"]
    current, previous = stored(api, hook["id"])
    assert current.startswith("fernet:") and previous is not None and previous.startswith("fernet:")
    assert signing.unseal(previous, KEY) == hook["secret"] and signing.unseal(current, KEY) == new
    # Keys rotate too: a secret sealed with the second key opens while it is listed.
    sealed_old = signing.seal("whsec_x", OLD_KEY)
    assert signing.unseal(sealed_old, f"{KEY},{OLD_KEY}") == "whsec_x"
    with pytest.raises(signing.SecretUnavailable):
        signing.unseal(sealed_old, KEY)


def test_a_key_that_is_not_a_fernet_key_stops_the_service():
    with pytest.raises(ValidationError, match="Fernet"):
        Settings(secret_key="not-a-key")
    assert Settings(secret_key="").secret_key is None

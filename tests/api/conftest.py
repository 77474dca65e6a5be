from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from creditlines.auth import service as auth
from creditlines.db.engine import UnitOfWork
from tests.factories import make_world

ADMIN_KEY = "test-bootstrap-admin-key-of-32-characters"


class Api:
    """A TestClient with the keys of one scenario: Actebis, Microsoft, HP."""

    def __init__(self, client: TestClient, uow: UnitOfWork):
        self.client = client
        self.uow = uow
        self.keys: dict[str, str] = {"admin": ADMIN_KEY}

    def key(self, role: str, **scope) -> str:
        with self.uow.write() as s:
            _, key = auth.create_key(s, role=role, **scope)
        return key

    def as_(self, key_or_role: str):
        key = self.keys.get(key_or_role, key_or_role)
        return {"Authorization": f"Bearer {key}"}

    def request(self, method: str, path: str, who: str = "officer", **kw):
        headers = {**self.as_(who), **kw.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kw)

    def get(self, path, who="officer", **kw):
        return self.request("GET", path, who, **kw)

    def post(self, path, who="officer", **kw):
        return self.request("POST", path, who, **kw)

    def put(self, path, who="officer", **kw):
        return self.request("PUT", path, who, **kw)

    def delete(self, path, who="officer", **kw):
        return self.request("DELETE", path, who, **kw)


@pytest.fixture
def api(engine, monkeypatch) -> Api:
    from creditlines.config import get_settings

    monkeypatch.setenv("CREDITLINES_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("CREDITLINES_SENDER", "false")  # tests of webhooks run their own senders
    get_settings.cache_clear()
    app = create_app(database_url=engine.url.render_as_string(hide_password=False))
    uow = app.state.uow
    make_world(uow)
    with TestClient(app, raise_server_exceptions=False) as client:
        a = Api(client, uow)
        a.keys["officer"] = a.key("credit_officer", distributor_id="actebis")
        a.keys["integration"] = a.key("integration", distributor_id="actebis")
        a.keys["partner"] = a.key("partner_manager", vendor_id="microsoft")
        yield a
    uow.dispose()
    get_settings.cache_clear()


def eur(amount: str) -> dict:
    return {"amount": amount, "currency": "EUR"}

"""When the database cannot be reached, every route answers 503 problem+json
(``database_unavailable``, with ``Retry-After``), never a 500 or a hang: on a single host, and on
the multi-host URL of a primary with its standby (SPEC §22) while neither accepts writes."""

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import ADMIN_KEY, eur

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1
# libpq's multi-host form, as the HA orchestrator's documentation writes it: nothing on 1 or 2
NOWHERE_HA = "postgresql+psycopg://postgres@127.0.0.1:1,127.0.0.1:2/nowhere?target_session_attrs=read-write"
D = "/v1/distributors/actebis"


@pytest.fixture
def admin_env(monkeypatch):
    from creditlines.config import get_settings

    monkeypatch.setenv("CREDITLINES_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("CREDITLINES_SENDER", "false")
    get_settings.cache_clear()
    yield {"Authorization": f"Bearer {ADMIN_KEY}"}
    get_settings.cache_clear()


@pytest.mark.parametrize("url", [NOWHERE, NOWHERE_HA], ids=["one-host", "multi-host"])
def test_an_unreachable_database_is_a_503_the_erp_can_retry(admin_env, url):
    app = create_app(database_url=url, read_database_url=NOWHERE_HA)  # the replica is out of reach too
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            for method, path, body in (
                ("GET", f"{D}/resellers/R-1", None),
                ("POST", f"{D}/resellers/R-1/eligibility", {"amount": eur("10.00")}),
                ("POST", f"{D}/resellers/R-1/drawings", {"reference": "SO-1", "amount": eur("10.00")}),
                ("GET", f"{D}/resellers", None),  # a listing: the replica, then the primary
                ("GET", f"{D}/resellers/R-1/drawings", None),
                ("GET", f"{D}/reports/over-limit", None),
            ):
                answer = client.request(method, path, headers=admin_env, json=body)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.json()["code"] == "database_unavailable"
                assert answer.headers["retry-after"] == "1"
            assert client.get("/healthz").status_code == 200  # alive, not ready
            assert client.get("/readyz").status_code == 503
    finally:
        app.state.uow.dispose()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # a replica is a PostgreSQL standby
def test_a_replica_out_of_reach_sends_the_listings_to_the_primary(engine, admin_env):
    """Actebis's officer lists resellers while the read replica is down: the listing is answered
    from the primary, and the replica is left alone for a few seconds (no wait on each request)."""
    from tests.factories import make_reseller, make_world

    app = create_app(database_url=engine.url.render_as_string(hide_password=False), read_database_url=NOWHERE_HA)
    uow = app.state.uow
    make_world(uow)
    make_reseller(uow, "R-1", "2500.00")
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            listed = client.get(f"{D}/resellers", headers=admin_env)
            assert listed.status_code == 200, listed.text
            assert [r["id"] for r in listed.json()["items"]] == ["R-1"]
            assert uow.replica_set.is_down
            assert client.get(f"{D}/reports/over-limit", headers=admin_env).status_code == 200
    finally:
        uow.dispose()

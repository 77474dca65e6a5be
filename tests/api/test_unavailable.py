"""When the database cannot be reached, every route answers 503 problem+json, never a 500 or a hang."""

from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import ADMIN_KEY, eur

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1


def test_an_unreachable_database_is_a_503_the_erp_can_retry(monkeypatch):
    from creditlines.config import get_settings

    monkeypatch.setenv("CREDITLINES_ADMIN_KEY", ADMIN_KEY)
    get_settings.cache_clear()
    app = create_app(database_url=NOWHERE)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            for method, path, body in (
                ("GET", "/v1/distributors/actebis/resellers/R-1", None),
                ("POST", "/v1/distributors/actebis/resellers/R-1/eligibility", {"amount": eur("10.00")}),
                (
                    "POST",
                    "/v1/distributors/actebis/resellers/R-1/drawings",
                    {"reference": "SO-1", "amount": eur("10.00")},
                ),
            ):
                answer = client.request(method, path, headers=headers, json=body)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.json()["code"] == "database_unavailable"
                assert answer.headers["retry-after"] == "1"
            assert client.get("/healthz").status_code == 200  # alive, not ready
            assert client.get("/readyz").status_code == 503
    finally:
        app.state.uow.dispose()
        get_settings.cache_clear()

"""The fast lane (api/fast.py) answers exactly what the FastAPI routes answer, and handles the
common requests itself.

Two apps on one database: the service as it runs (the lane in front of the routes) and the same
app without the lane. The same story is told to both, on twin resellers (R-LANE through the lane,
R-ROUTE through the routes): accepted, replayed and conflicting drawings, the last euros, a hold,
a termination, every kind of bad input and every kind of wrong key. Each answer must be the same
— status, body (the reseller's and lines' ids aside), content type. A counter between the lane and the
router shows which requests the lane answered itself: the accepted and refused drawings and the
eligibility checks, never a request it cannot answer the common way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.middleware import Middleware

from api.app import create_app
from api.fast import FastLane
from creditlines.tenants import service as tenants
from tests.api.conftest import ADMIN_KEY, Api
from tests.factories import make_reseller, make_world

D = "/v1/distributors/actebis/resellers"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # the twins' line ids


class RouterCalls:
    """Between the lane and the router: the requests that reached the FastAPI routes."""

    paths: list[str] = []

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            RouterCalls.paths.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


@pytest.fixture
def apps(engine, monkeypatch) -> Any:
    from creditlines.config import get_settings

    monkeypatch.setenv("CREDITLINES_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("CREDITLINES_SENDER", "false")
    get_settings.cache_clear()
    url = engine.url.render_as_string(hide_password=False)
    lane, plain = create_app(database_url=url), create_app(database_url=url)
    lane.user_middleware.append(Middleware(RouterCalls))  # innermost: after the lane, before the router
    plain.user_middleware = [m for m in plain.user_middleware if m.cls is not FastLane]
    make_world(lane.state.uow)
    with lane.state.uow.write() as s:
        tenants.create_distributor(s, id="etc", name="ETC", currency="EUR", timezone="Europe/Paris")
    for reseller_id in ("R-LANE", "R-ROUTE"):
        make_reseller(lane.state.uow, reseller_id, "1000.00")
    with TestClient(lane, raise_server_exceptions=False) as a, TestClient(plain, raise_server_exceptions=False) as b:
        api = Api(a, lane.state.uow)
        api.keys["officer"] = api.key("credit_officer", distributor_id="actebis")
        api.keys["integration"] = api.key("integration", distributor_id="actebis")
        api.keys["partner"] = api.key("partner_manager", vendor_id="microsoft")
        api.keys["etc"] = api.key("credit_officer", distributor_id="etc")
        yield api, b
    lane.state.uow.dispose()
    plain.state.uow.dispose()
    get_settings.cache_clear()


def _same(api: Api, route_client: TestClient, method: str, path: str, who: str | None, **kw: Any) -> int:
    """Send one request through the lane (on R-LANE) and without it (on R-ROUTE); they must agree."""
    headers = {**(api.as_(who) if who else {}), **kw.pop("headers", {})}
    through_lane = api.client.request(method, path.format(r="R-LANE"), headers=headers, **kw)
    through_route = route_client.request(method, path.format(r="R-ROUTE"), headers=headers, **kw)

    def seen(response: Any) -> tuple[int, str, Any]:
        body = UUID.sub("<line>", response.text.replace("R-LANE", "<r>").replace("R-ROUTE", "<r>"))
        try:
            document = json.loads(body)
        except ValueError:
            document = body
        return response.status_code, response.headers.get("content-type", ""), document

    assert seen(through_lane) == seen(through_route), (method, path, kw)
    return int(through_lane.status_code)


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def test_the_lane_answers_what_the_routes_answer(apps: Any) -> None:
    api, route_client = apps
    same: Callable[..., int] = lambda *a, **kw: _same(api, route_client, *a, **kw)  # noqa: E731
    drawings, eligibility = f"{D}/{{r}}/drawings", f"{D}/{{r}}/eligibility"
    # warm the key cache and the distributor cache as a running service has them
    api.post(f"{D}/R-LANE/eligibility", who="integration", json={"amount": eur("1.00")})
    api.post(f"{D}/R-LANE/eligibility", who="officer", json={"amount": eur("1.00")})
    RouterCalls.paths.clear()

    # The ERP's day: orders, a replay, a conflicting replay, the last euros, a refusal.
    assert same("POST", eligibility, "integration", json={"amount": eur("600.00")}) == 200
    assert same("POST", drawings, "integration", json={"reference": "SO-1", "amount": eur("600.00")}) == 201
    assert same("POST", drawings, "integration", json={"reference": "SO-1", "amount": eur("600.00")}) == 200
    assert same("POST", drawings, "integration", json={"reference": "SO-1", "amount": eur("601.00")}) == 409
    assert same("POST", drawings, "integration", json={"reference": "FA/2026/0042", "amount": eur("400.00")}) == 201
    assert same("POST", drawings, "integration", json={"reference": "SO-3", "amount": eur("0.01")}) == 409
    assert same("POST", eligibility, "officer", json={"amount": eur("0.01")}) == 200
    answered_by_the_lane = list(RouterCalls.paths)
    assert answered_by_the_lane == [], answered_by_the_lane  # all of them answered by the lane itself

    # A hold, then a termination: refused after the lane read the reseller.
    for r in ("R-LANE", "R-ROUTE"):
        assert api.post(f"{D}/{r}/hold", json={"reason": "late payment"}).status_code == 200
    assert same("POST", drawings, "integration", json={"reference": "SO-4", "amount": eur("1.00")}) == 409
    assert same("POST", eligibility, "integration", json={"amount": eur("1.00")}) == 200
    for r in ("R-LANE", "R-ROUTE"):
        assert api.post(f"{D}/{r}/termination", json={"reason": "closed"}).status_code == 200
    assert same("POST", drawings, "integration", json={"reference": "SO-5", "amount": eur("1.00")}) == 409
    assert same("POST", eligibility, "integration", json={"amount": eur("1.00")}) == 200

    # What the lane leaves to the routes: every refusal before anything is posted.
    RouterCalls.paths.clear()
    usd, number = {"amount": "1.00", "currency": "USD"}, {"amount": 1.0, "currency": "EUR"}
    nobody = "/v1/distributors/actebis/resellers/R-NOBODY"
    refused = [
        ("POST", drawings, "integration", {"json": {"reference": "SO-6", "amount": usd}}),
        ("POST", drawings, "integration", {"json": {"reference": "SO-6", "amount": number}}),
        ("POST", drawings, "integration", {"json": {"reference": "SO-6", "amount": eur("-1.00")}}),
        ("POST", drawings, "integration", {"json": {"reference": "SO-6", "amount": eur("0.001")}}),
        ("POST", drawings, "integration", {"json": {"reference": "bad ref", "amount": eur("1.00")}}),
        ("POST", drawings, "integration", {"json": {"reference": "SO-6", "amount": eur("1.00"), "extra": 1}}),
        ("POST", drawings, "integration", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
        ("POST", drawings, "integration", {"content": b"reference=SO-6", "headers": {"Content-Type": "text/plain"}}),
        ("POST", drawings, "partner", {"json": {"reference": "SO-6", "amount": eur("1.00")}}),
        ("POST", drawings, "etc", {"json": {"reference": "SO-6", "amount": eur("1.00")}}),
        ("POST", drawings, None, {"json": {"reference": "SO-6", "amount": eur("1.00")}}),
        ("POST", drawings, "not-a-key", {"json": {"reference": "SO-6", "amount": eur("1.00")}}),
        ("POST", eligibility, "integration", {"json": {"amount": {"amount": "1.00", "currency": "GBP"}}}),
        ("POST", eligibility, "integration", {"json": {"amount": eur("1.00"), "vendor_id": "no such!"}}),
        ("POST", eligibility, "partner", {"json": {"amount": eur("1.00")}}),
        ("POST", f"{nobody}/eligibility", "integration", {"json": {"amount": eur("1.00")}}),
        ("POST", f"{nobody}/drawings", "integration", {"json": {"reference": "SO-7", "amount": eur("1.00")}}),
        ("POST", "/v1/distributors/nowhere/resellers/{r}/eligibility", "admin", {"json": {"amount": eur("1.00")}}),
    ]  # fmt: skip
    statuses = [same(method, path, who, **kw) for method, path, who, kw in refused]
    assert all(400 <= s < 500 for s in statuses), statuses
    assert set(statuses) >= {401, 403, 404, 422}
    # each reached the routes, but the drawing for an unknown reseller: the drawing function itself
    # answers not_found (the lane cannot know before posting), rendered by the same problem code
    reached = [p for p in RouterCalls.paths if p.startswith("POST")]
    assert f"POST {nobody}/drawings" not in reached
    assert len(reached) == len(refused) - 1, reached


def test_a_bearer_written_otherwise_is_read_as_the_routes_read_it(apps: Any) -> None:
    api, route_client = apps
    key = api.keys["integration"]
    api.post(f"{D}/R-LANE/eligibility", who="integration", json={"amount": eur("1.00")})  # cached
    for header in (f"bearer {key}", f"Bearer  {key}", f"Bearer {key} ", f"Basic {key}", "Bearer", key):
        statuses = {
            _same(api, route_client, "POST", f"{D}/{{r}}/eligibility", None, headers={"Authorization": header},
                  json={"amount": eur("1.00")})
        }  # fmt: skip
        assert statuses <= {200, 401}, (header, statuses)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # SQLite's hot path has no server to lose
def test_a_warm_lane_answers_503_when_the_database_goes_away(apps: Any) -> None:
    """The key and the distributor cached (the lane answers), then the hot pool's database is out
    of reach: eligibility and drawings answer 503 database_unavailable with Retry-After, as the
    routes do, never a 500 (PostgreSQL: the SQLite hot path has no server to lose)."""
    api, _ = apps
    hot = api.client.app.state.hot  # type: ignore[attr-defined]
    assert hot.is_postgresql
    body = {"amount": eur("1.00")}
    assert api.post(f"{D}/R-LANE/eligibility", who="integration", json=body).status_code == 200  # warm
    RouterCalls.paths.clear()
    # The answer, not how long the pool waits, is under test: 1 s instead of the service's 10 s
    # (a wait of 1 s still ends in PoolTimeout, the one way to 503 here).
    hot.pool_wait_s = 1.0
    hot._pool, hot._conninfo = None, "postgresql://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1
    for path, payload in ((f"{D}/R-LANE/eligibility", body), (f"{D}/R-LANE/drawings", {"reference": "SO-X", **body})):
        answer = api.post(path, who="integration", json=payload)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "database_unavailable" and answer.headers["retry-after"] == "1"
    # the eligibility check was answered by the lane itself; the drawing may have gone to the route,
    # had the pool's wait outlived the key cache's TTL (then the route answered 503 the same way)
    assert f"POST {D}/R-LANE/eligibility" not in RouterCalls.paths

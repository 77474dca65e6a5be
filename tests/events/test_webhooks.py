"""Webhooks against a real HTTP receiver: signed, retried, in order, never twice at once, disabled
after the retry window. The sender runs as `creditlines deliver` would, a poll at a time; the clock
is moved by hand between polls (backoff and the window are read from it), never waited on."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import timedelta

import pytest

from creditlines import clock
from creditlines.config import Settings
from creditlines.events.sender import Sender, backoff
from tests.api.conftest import eur
from tests.events.receiver import Receiver

D = "/v1/distributors/actebis"
# The receivers listen on loopback, which deliveries may reach only when the operator allows it.
LOOPBACK = "127.0.0.0/8"
SETTINGS = Settings(
    webhook_timeout_seconds=0.5,
    webhook_retry_base_seconds=10,
    sender_poll_seconds=0.05,
    webhook_allow_networks=LOOPBACK,
)


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    """Subscriptions to the local receivers are allowed (set before the `api` fixture reads it)."""
    monkeypatch.setenv("CREDITLINES_WEBHOOK_ALLOW_NETWORKS", LOOPBACK)


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def subscribe(api, receiver, types=("drawing.created",), who="officer", **scope):
    answer = api.post("/v1/webhooks", who=who, json={"url": receiver.url, "types": list(types), **scope})
    assert answer.status_code == 201, answer.text
    return answer.json()


def order(api, reference: str, amount: str = "100.00"):
    answer = api.post(
        f"{D}/resellers/R-1/drawings", who="integration", json={"reference": reference, "amount": eur(amount)}
    )
    assert answer.status_code == 201, answer.text


def poll(sender: Sender, times: int = 1) -> int:
    async def go() -> int:
        try:
            return sum([await sender.run_once() for _ in range(times)])
        finally:
            await sender.aclose()

    return asyncio.run(go())


def later(seconds: float) -> None:
    clock.set_now(clock.now() + timedelta(seconds=seconds))


@pytest.fixture
def r1(api):
    api.put(f"{D}/resellers/R-1", json={"name": "R-1"})
    api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("100000.00"), "reason": "cover"})
    return api


def verify_signature(secret: str, headers: dict, body: bytes) -> bool:
    """What README.md shows a receiver doing."""
    timestamp = headers["Creditlines-Timestamp"]
    expected = "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["Creditlines-Signature"])


def test_the_erp_receives_each_new_order_signed(r1, receiver):
    api = r1
    order(api, "BEFORE")  # committed before the subscription: not sent
    hook = subscribe(api, receiver, types=("drawing.created", "drawing.refused"))
    assert hook["secret"].startswith("whsec_") and hook["status"] == "active"
    assert (
        "secret" not in api.get(f"/v1/webhooks/{hook['id']}").json()
        or api.get(f"/v1/webhooks/{hook['id']}").json()["secret"] is None
    )  # shown once
    order(api, "FA-1")
    api.post(f"{D}/resellers/R-1/hold", json={"reason": "late"})  # not subscribed: not sent
    assert poll(Sender(api.uow, SETTINGS)) == 1
    [got] = receiver.requests
    assert verify_signature(hook["secret"], got.headers, got.body)
    assert not verify_signature("whsec_other", got.headers, got.body)
    assert got.document["type"] == "drawing.created" and got.document["data"]["reference"] == "FA-1"
    assert got.headers["Creditlines-Event-Id"] == got.document["id"]
    assert got.headers["Creditlines-Timestamp"] == str(int(clock.now().timestamp()))
    assert poll(Sender(api.uow, SETTINGS)) == 0  # delivered once: nothing more to send
    log = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert [(d["outcome"], d["status_code"], d["event_id"]) for d in log] == [("delivered", 200, got.document["id"])]


def test_failures_are_retried_with_backoff_and_later_events_wait_their_turn(r1, receiver):
    api = r1
    hook = subscribe(api, receiver)
    receiver.script = [500, 503, "slow"]  # two errors, then no answer within the timeout
    for ref in ("FA-1", "FA-2", "FA-3"):
        order(api, ref)
    sender = Sender(api.uow, SETTINGS)
    assert poll(sender) == 0
    assert poll(sender) == 0  # not due yet: the backoff runs on the clock
    later(10)  # the first retry comes within 5-10 s (< 30 s)
    assert poll(sender) == 0
    later(20)
    assert poll(sender) == 0  # the timeout
    later(40)
    assert poll(sender) == 3
    refs = [r.document["data"]["reference"] for r in receiver.requests]
    assert refs == ["FA-1", "FA-1", "FA-1", "FA-1", "FA-2", "FA-3"]
    assert [r.answered for r in receiver.requests] == [500, 503, "slow", "ok", "ok", "ok"]
    log = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"][::-1]
    assert [(d["outcome"], d["attempt"], d["status_code"] or d["error"]) for d in log] == [
        ("failed", 1, 500),
        ("failed", 2, 503),
        ("failed", 3, "timeout"),
        ("delivered", 4, 200),
        ("delivered", 1, 200),
        ("delivered", 1, 200),
    ]


def test_backoff_doubles_with_jitter_and_starts_within_30_seconds():
    waits = [[backoff(n, Settings()) for n in (1, 2, 3, 20)] for _ in range(200)]
    assert all(5 <= w[0] <= 10 and 10 <= w[1] <= 20 and 20 <= w[2] <= 40 and 1800 <= w[3] <= 3600 for w in waits)
    assert len({round(w[0], 6) for w in waits}) > 100  # jittered, not in lockstep


def test_two_senders_never_deliver_one_event_at_the_same_moment(r1, receiver):
    api = r1
    subscribe(api, receiver)
    other = Receiver(delay_seconds=0.1).start()
    try:
        subscribe(api, other)
        receiver.delay_seconds = 0.1
        for n in range(6):
            order(api, f"FA-{n}")
        one, two = Sender(api.uow, SETTINGS, owner="one"), Sender(api.uow, SETTINGS, owner="two")

        async def both() -> None:
            try:
                for _ in range(3):
                    await asyncio.gather(one.run_once(), two.run_once())
            finally:
                await one.aclose()
                await two.aclose()

        asyncio.run(both())
        for r in (receiver, other):
            assert [q.document["data"]["reference"] for q in r.requests] == [f"FA-{n}" for n in range(6)]
            assert all(q.in_flight_same_event == 1 for q in r.requests)
    finally:
        other.stop()


def test_a_dead_endpoint_is_disabled_after_24_hours_and_an_event_says_so(r1, receiver):
    api = r1
    hook = subscribe(api, receiver)
    receiver.script = [500] * 100
    order(api, "FA-1")
    sender = Sender(api.uow, SETTINGS)
    poll(sender)
    later(23 * 3600)
    poll(sender)
    assert api.get(f"/v1/webhooks/{hook['id']}").json()["status"] == "active"
    later(3600)
    poll(sender)
    state = api.get(f"/v1/webhooks/{hook['id']}").json()
    assert state["status"] == "disabled" and state["attempts"] == 3
    tried = len(receiver.requests)
    later(3600)
    poll(sender)
    assert len(receiver.requests) == tried  # nothing sent to a disabled endpoint
    events = api.get(f"{D}/events", params={"types": "webhook.disabled"}).json()["items"]
    assert [e["data"]["webhook_id"] for e in events] == [hook["id"]]


def test_who_may_subscribe_to_what(r1, receiver):
    api = r1
    assert subscribe(api, receiver, who="partner", types=("line.granted",))["vendor_id"] == "microsoft"
    refused = api.post("/v1/webhooks", who="partner", json={"url": receiver.url, "types": ["drawing.created"]})
    assert refused.status_code == 422  # a vendor's webhook carries only a vendor's events
    assert (
        api.post(
            "/v1/webhooks", who="partner", json={"url": receiver.url, "types": ["line.granted"], "vendor_id": "hp"}
        ).status_code
        == 403
    )
    assert (
        api.post(
            "/v1/webhooks",
            who="officer",
            json={"url": receiver.url, "types": ["line.granted"], "distributor_id": "etc"},
        ).status_code
        == 403
    )
    assert (
        api.post("/v1/webhooks", who="integration", json={"url": receiver.url, "types": ["line.granted"]}).status_code
        == 403
    )
    assert (
        api.post("/v1/webhooks", who="admin", json={"url": receiver.url, "types": ["line.granted"]}).status_code == 422
    )
    for url in ("ftp://x", "http://", "not a url", "http://a\x00b", "http://[::1", "http://a:99999/", "http://a:0/"):
        assert api.post("/v1/webhooks", json={"url": url, "types": ["line.granted"]}).status_code == 422, url
    mine = subscribe(api, receiver)
    assert api.get(f"/v1/webhooks/{mine['id']}", who="partner").status_code == 404
    assert api.delete(f"/v1/webhooks/{mine['id']}").status_code == 204
    assert api.get(f"/v1/webhooks/{mine['id']}").status_code == 404
    order(api, "FA-1")
    assert poll(Sender(api.uow, SETTINGS)) == 0 and receiver.requests == []


def test_a_hanging_endpoint_does_not_hold_the_api(engine, monkeypatch, receiver):
    """The sender inside the server (as `creditlines serve` runs it) is stuck on an endpoint that
    does not answer; orders keep being answered meanwhile."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.conftest import ADMIN_KEY
    from tests.factories import make_reseller, make_world

    monkeypatch.setenv("CREDITLINES_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("CREDITLINES_SENDER_POLL_SECONDS", "0.05")
    monkeypatch.setenv("CREDITLINES_WEBHOOK_TIMEOUT_SECONDS", "30")
    monkeypatch.setenv("CREDITLINES_WEBHOOK_ALLOW_NETWORKS", LOOPBACK)
    from creditlines.config import get_settings

    get_settings.cache_clear()
    app = create_app(database_url=engine.url.render_as_string(hide_password=False))
    make_world(app.state.uow)
    make_reseller(app.state.uow, "R-1", "100000.00")
    receiver.script = ["hang"]
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    try:
        with TestClient(app) as client:
            assert (
                client.post(
                    "/v1/webhooks",
                    headers=admin,
                    json={"url": receiver.url, "types": ["drawing.created"], "distributor_id": "actebis"},
                ).status_code
                == 201
            )

            def order(ref: str) -> int:
                return client.post(
                    f"{D}/resellers/R-1/drawings", headers=admin, json={"reference": ref, "amount": eur("10.00")}
                ).status_code

            assert order("FA-1") == 201
            assert receiver.arrived.wait(30)  # the sender is now waiting on the endpoint
            assert [order(f"FA-{n}") for n in range(2, 12)] == [201] * 10
            assert len(receiver.requests) == 1  # still that one delivery, in flight
            receiver.release.set()
    finally:
        receiver.release.set()
        app.state.uow.dispose()
        get_settings.cache_clear()

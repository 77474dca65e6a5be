"""The sender is fair (SPEC §23): endpoints with nothing to send take no slot, those that wait are
served round robin whatever the tenant, a failing endpoint is retried on its schedule among
healthy ones and disabled after 24 h, and the lag metric grows while an endpoint waits.

Every receiver is a real HTTP server on loopback (allowed explicitly). Fairness is asserted in
passes of the sender (`run_once`, as `creditlines deliver` does between polls) and the clock is
moved by hand: no assertion on elapsed time."""

from __future__ import annotations

import asyncio
import math
import threading

import pytest
from prometheus_client import REGISTRY

from creditlines.events import outbox
from tests.events.receiver import Receiver, stop_all
from tests.events.test_webhooks import SETTINGS, later, poll, subscribe

D = "/v1/distributors"
DISTRIBUTORS = ("actebis", "ingram", "tdsynnex", "also", "esprinet")


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("CREDITLINES_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def start(n: int, **kw) -> list[Receiver]:
        fresh = [Receiver(**kw).start() for _ in range(n)]
        started.extend(fresh)
        return fresh

    yield start
    stop_all(started)


def distributors(api, *ids: str) -> dict[str, str]:
    """The distributors (created by the admin) and an officer key of each."""
    keys = {}
    for d in ids:
        if d != "actebis":
            answer = api.post(
                "/v1/distributors",
                who="admin",
                json={"id": d, "name": d.title(), "currency": "EUR", "timezone": "Europe/Paris"},
            )
            assert answer.status_code == 201, answer.text
        keys[d] = api.key("credit_officer", distributor_id=d)
    return keys


def new_reseller(api, officer: str, distributor: str, reseller: str) -> None:
    """One `reseller.created` event at the distributor."""
    answer = api.put(f"{D}/{distributor}/resellers/{reseller}", who=officer, json={"name": reseller})
    assert answer.status_code in (200, 201), answer.text


def lag() -> float:
    value = REGISTRY.get_sample_value("creditlines_webhook_lag_seconds")
    assert value is not None
    return value


def test_a_new_endpoint_is_served_at_once_beside_eight_idle_endpoints_of_another_tenant(api, receivers):
    """The issue's starvation: another tenant's officer created 8 webhooks with nothing to send;
    a new endpoint at a different distributor gets its event in the very first pass."""
    keys = distributors(api, "actebis", "ingram")
    idle = receivers(1)[0]
    for _ in range(8):
        subscribe(api, idle, types=("reseller.created",), who=keys["ingram"])
    mine = receivers(1)[0]
    later(1)
    subscribe(api, mine, types=("reseller.created",), who=keys["actebis"])
    new_reseller(api, keys["actebis"], "actebis", "R-1")
    assert poll(sender_for(api)) == 1
    assert [r.document["reseller_id"] for r in mine.requests] == ["R-1"]
    assert idle.requests == []


def test_eight_busy_endpoints_take_turns_with_a_new_one(api, receivers):
    """8 endpoints of Ingram with a backlog longer than a turn, then one of Actebis: the newcomer
    is served within the passes it takes to give each waiting endpoint one turn (ceil(9/8) = 2)."""
    keys = distributors(api, "actebis", "ingram")
    busy = receivers(8)
    for r in busy:
        subscribe(api, r, types=("reseller.created",), who=keys["ingram"])
    for n in range(51):  # more than one turn (BATCH = 50) for each of the 8
        new_reseller(api, keys["ingram"], "ingram", f"IN-{n}")
    mine = receivers(1)[0]
    subscribe(api, mine, types=("reseller.created",), who=keys["actebis"])
    new_reseller(api, keys["actebis"], "actebis", "R-1")
    sender = sender_for(api)
    poll(sender, times=math.ceil(9 / SETTINGS.sender_concurrency))
    assert [r.document["reseller_id"] for r in mine.requests] == ["R-1"]
    assert all(r.requests for r in busy)


def test_fifty_endpoints_across_tenants_are_all_served_in_ceil_50_over_8_passes(api, receivers):
    """5 distributors × 8 endpoints and 2 vendors × 5: one event for each endpoint's scope.
    Every pass serves 8 endpoints never served before; after ceil(50/8) = 7 passes each of the 50
    has its event, once."""
    keys = distributors(api, *DISTRIBUTORS)
    ends = receivers(50)
    scope_of: dict[int, str] = {}
    for i, r in enumerate(ends[:40]):
        d = DISTRIBUTORS[i % 5]
        subscribe(api, r, types=("reseller.created",), who=keys[d])
        scope_of[i] = d
    for i, r in enumerate(ends[40:], start=40):
        v = ("microsoft", "hp")[i % 2]
        subscribe(api, r, types=("line.granted",), who="admin", vendor_id=v)
        scope_of[i] = v
    for d in DISTRIBUTORS:
        new_reseller(api, keys[d], d, f"R-{d}")
    with api.uow.write() as s:
        for v in ("microsoft", "hp"):
            outbox.record(s, "line.granted", distributor_id="actebis", vendor_id=v, data={"programme": f"p-{v}"})
    sender = sender_for(api)
    served_by_pass: list[int] = []
    for _ in range(math.ceil(50 / SETTINGS.sender_concurrency)):
        before = sum(len(r.requests) for r in ends)
        poll(sender)
        served_by_pass.append(sum(len(r.requests) for r in ends) - before)
    assert served_by_pass == [8, 8, 8, 8, 8, 8, 2]
    assert [len(r.requests) for r in ends] == [1] * 50
    for i, r in enumerate(ends):
        doc = r.requests[0].document
        assert doc.get("vendor_id", doc["distributor_id"]) == scope_of[i]
    assert poll(sender) == 0  # nothing left: no endpoint is claimed


def test_the_running_sender_serves_everyone_while_one_endpoint_hangs(api, receivers):
    """`Sender.run` (as in `creditlines serve`) keeps its slots busy independently: with one
    endpoint hanging on a slot, the 49 others still get their events."""
    from creditlines.events.sender import Sender

    keys = distributors(api, *DISTRIBUTORS)
    stuck = receivers(1, script=["hang"])[0]
    subscribe(api, stuck, types=("reseller.created",), who=keys["actebis"])
    others = receivers(49)
    for i, r in enumerate(others):
        subscribe(api, r, types=("reseller.created",), who=keys[DISTRIBUTORS[i % 5]])
    all_served = threading.Event()
    count = {"n": 0}
    lock = threading.Lock()

    def note(_r: Receiver) -> None:
        with lock:
            count["n"] += 1
            if count["n"] == 49:
                all_served.set()

    for r in others:
        r.on_request = note
    for d in DISTRIBUTORS:
        new_reseller(api, keys[d], d, f"R-{d}")
    settings = SETTINGS.model_copy(update={"webhook_timeout_seconds": 60.0})

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(Sender(api.uow, settings).run(stop))
        await asyncio.to_thread(all_served.wait, 60)  # a guard against a hang, not a measure
        stuck.release.set()
        stop.set()
        await task

    try:
        asyncio.run(go())
    finally:
        stuck.release.set()
    assert [len(r.requests) for r in others] == [1] * 49
    assert len(stuck.requests) == 1


def test_a_failing_endpoint_is_retried_among_idle_ones_then_disabled_after_24_hours(api, receivers):
    """The issue's second starvation: an endpoint that failed once fell behind 8 healthy idle
    ones and was never tried again. Now it is retried when due (first retry within 30 s) and
    disabled after 24 h of failure, with its webhook.disabled event."""
    keys = distributors(api, "actebis", "ingram")
    failing = receivers(1, script=[500] * 1000)[0]
    hook = subscribe(api, failing, types=("reseller.created",), who=keys["actebis"])
    new_reseller(api, keys["actebis"], "actebis", "R-1")
    sender = sender_for(api)
    poll(sender)
    assert len(failing.requests) == 1
    later(1)
    idle = receivers(1)[0]
    for _ in range(8):
        subscribe(api, idle, types=("reseller.created",), who=keys["ingram"])
    later(30)
    poll(sender)
    assert len(failing.requests) == 2  # retried on schedule
    for _ in range(25):
        later(3600)
        poll(sender)
    state = api.get(f"/v1/webhooks/{hook['id']}", who=keys["actebis"]).json()
    assert state["status"] == "disabled"
    events = api.get(f"{D}/actebis/events", who=keys["actebis"], params={"types": "webhook.disabled"}).json()
    assert [e["data"]["webhook_id"] for e in events["items"]] == [hook["id"]]
    assert events["items"][0]["data"]["last_outcome"] == "http_500"
    assert idle.requests == []


def test_the_lag_metric_grows_while_an_endpoint_waits(api, receivers):
    """`creditlines_webhook_lag_seconds` is the age of the oldest undelivered event: it grows
    while a failing endpoint waits (so the documented alert can fire) and falls to 0 once
    everything is delivered."""
    keys = distributors(api, "actebis")
    failing = receivers(1, script=[503] * 3)[0]
    subscribe(api, failing, types=("reseller.created",), who=keys["actebis"])
    new_reseller(api, keys["actebis"], "actebis", "R-1")
    sender = sender_for(api)
    poll(sender)
    assert lag() == 0  # surveyed at the event's own instant
    later(20)
    poll(sender)
    assert lag() >= 20
    later(600)
    poll(sender)
    assert lag() >= 620
    later(3600)
    poll(sender)  # the fourth attempt is answered 200
    poll(sender)  # the next look: nothing waits
    assert [r.answered for r in failing.requests] == [503, 503, 503, "ok"]
    assert lag() == 0


def sender_for(api):
    from creditlines.events.sender import Sender

    return Sender(api.uow, SETTINGS)


def test_three_senders_racing_over_twelve_endpoints_deliver_each_event_once_in_order(api, receivers):
    """Three senders claim at the same moments (on PostgreSQL with SKIP LOCKED, on SQLite under its
    one writer): every endpoint gets its events once each, in order, never two at a time."""
    from creditlines.events.sender import Sender

    keys = distributors(api, "actebis", "ingram", "also")
    ends = receivers(12, delay_seconds=0.01)
    for i, r in enumerate(ends):
        subscribe(api, r, types=("reseller.created",), who=keys[("actebis", "ingram", "also")[i % 3]])
    for n in range(5):
        for d in ("actebis", "ingram", "also"):
            new_reseller(api, keys[d], d, f"{d}-{n}")
    senders = [Sender(api.uow, SETTINGS, owner=f"s{n}") for n in range(3)]

    async def race() -> None:
        try:
            for _ in range(4):
                await asyncio.gather(*(s.run_once() for s in senders))
        finally:
            for s in senders:
                await s.aclose()

    asyncio.run(race())
    for i, r in enumerate(ends):
        d = ("actebis", "ingram", "also")[i % 3]
        assert [q.document["reseller_id"] for q in r.requests] == [f"{d}-{n}" for n in range(5)]
        assert all(q.in_flight_same_event == 1 for q in r.requests)

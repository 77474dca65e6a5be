"""A probe, not a test (its name keeps it out of the suite): commit-to-receive latency of the
running sender (`Sender.run`, as inside `creditlines serve`), on both databases, with real
receivers on loopback. It prints figures and asserts only that every event arrived.

    scripts/test tests/events/probe_sender_latency.py -s -q -p no:cacheprovider

1. 50 endpoints across 5 distributors and 2 vendors, one event each, committed at once.
2. 8 busy endpoints of Ingram (a backlog of 300 events each, every answer taking 20 ms), then a
   new endpoint at Actebis and its one event: how long that event waits.
"""

from __future__ import annotations

import asyncio
import threading
import time

from creditlines import clock
from creditlines.events import outbox
from creditlines.events.sender import Sender
from tests.events.receiver import Receiver
from tests.events.test_webhook_fairness import DISTRIBUTORS, allow_loopback, distributors, receivers  # noqa: F401
from tests.events.test_webhooks import SETTINGS, subscribe

RUN = SETTINGS.model_copy(update={"webhook_timeout_seconds": 10.0, "sender_poll_seconds": 1.0})


def _run_until(api, done: threading.Event) -> None:
    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(Sender(api.uow, RUN).run(stop))
        await asyncio.to_thread(done.wait, 120)
        stop.set()
        await task

    asyncio.run(go())


def _stamp(received: dict[int, float], i: int, lock: threading.Lock, done: threading.Event, n: int):
    def note(_r: Receiver) -> None:
        with lock:
            received.setdefault(i, time.monotonic())
            if len(received) == n:
                done.set()

    return note


def test_fifty_endpoints_latency(api, receivers, engine):  # noqa: F811
    keys = distributors(api, *DISTRIBUTORS)
    ends = receivers(50)
    received: dict[int, float] = {}
    lock, done = threading.Lock(), threading.Event()
    for i, r in enumerate(ends):
        if i < 40:
            subscribe(api, r, types=("reseller.created",), who=keys[DISTRIBUTORS[i % 5]])
        else:
            subscribe(api, r, types=("line.granted",), who="admin", vendor_id=("microsoft", "hp")[i % 2])
        r.on_request = _stamp(received, i, lock, done, 50)
    clock.set_now(None)  # the real clock: occurred_at and the lag as in production
    with api.uow.write() as s:
        for d in DISTRIBUTORS:
            outbox.record(s, "reseller.created", distributor_id=d, reseller_id=f"R-{d}", data={"name": d})
        for v in ("microsoft", "hp"):
            outbox.record(s, "line.granted", distributor_id="actebis", vendor_id=v, data={"programme": v})
    committed = time.monotonic()
    _run_until(api, done)
    waits = sorted(received[i] - committed for i in received)
    print(
        f"\n[{engine.dialect.name}] 50 endpoints: all received={len(received) == 50}, "
        f"median {waits[len(waits) // 2]:.3f} s, max {waits[-1]:.3f} s after commit"
    )
    assert len(received) == 50


def test_a_newcomer_beside_eight_busy_endpoints_latency(api, receivers, engine):  # noqa: F811
    keys = distributors(api, "actebis", "ingram")
    busy = receivers(8, delay_seconds=0.02)
    for r in busy:
        subscribe(api, r, types=("reseller.created",), who=keys["ingram"])
    with api.uow.write() as s:
        for n in range(300):
            outbox.record(s, "reseller.created", distributor_id="ingram", reseller_id=f"IN-{n}", data={"n": n})
    mine = receivers(1)[0]
    subscribe(api, mine, types=("reseller.created",), who=keys["actebis"])
    got: dict[int, float] = {}
    done = threading.Event()
    mine.on_request = _stamp(got, 0, threading.Lock(), done, 1)
    clock.set_now(None)
    started = threading.Event()

    def commit_later() -> None:
        busy[0].arrived.wait(60)  # the 8 are being served
        time.sleep(1.0)
        with api.uow.write() as s:
            outbox.record(s, "reseller.created", distributor_id="actebis", reseller_id="R-1", data={"n": 1})
        got[-1] = time.monotonic()
        got[-2] = 8 * 300 - sum(len(r.requests) for r in busy)
        started.set()

    threading.Thread(target=commit_later, daemon=True).start()
    _run_until(api, done)
    backlog_left = int(got[-2])
    print(
        f"\n[{engine.dialect.name}] newcomer beside 8 busy endpoints: received "
        f"{got[0] - got[-1]:.3f} s after commit ({backlog_left} of the 2400 busy events still waiting then)"
    )
    assert 0 in got

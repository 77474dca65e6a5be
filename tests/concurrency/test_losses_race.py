"""Defaults and write-offs raced on PostgreSQL through a real two-worker server (SPEC §20):

* the same default declared twice at the same instant → one ``201``, one ``200``; the ledger
  holds one ``reseller_defaulted`` entry;
* the same write-off twice at once → one ``201``, one ``200`` with the same document; a write-off
  racing another body under the same reference → one ``201``, one ``409 idempotency_conflict``;
  never a 5xx, each allocation written off once, claims once; ``verify`` (ledger and losses) clean.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from creditlines.losses.verify import verify_all
from tests.concurrency.scenario import Scenarios, eur

ROUNDS = 6


def _both(first: Callable[[], httpx.Response], second: Callable[[], httpx.Response]) -> list[httpx.Response]:
    barrier = threading.Barrier(2)

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(run, [first, second]))


def _status(response: httpx.Response) -> tuple[int, str | None]:
    return response.status_code, response.json().get("code") if response.status_code >= 400 else None


@pytest.mark.slow
def test_defaults_and_write_offs_at_the_same_instant(scenarios: Scenarios) -> None:
    sc = scenarios.create("race-losses", rounds=ROUNDS)
    w = sc.world
    officer = sc.who("officer")
    for i in range(ROUNDS):
        r = f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i)}"
        w._ok(w.post(r + "/drawings", sc.who("integration"), {"reference": f"SO-{i}", "amount": eur("600.00")}), 201)
        default = {"reason": f"insolvency {i}", "declared_on": "2026-03-02"}
        answers = _both(
            lambda r=r, body=default: w.post(r + "/default", officer, body),
            lambda r=r, body=default: w.post(r + "/default", officer, body),
        )
        assert sorted(_status(a) for a in answers) == [(200, None), (201, None)], [a.text for a in answers]

        body = {"reference": f"WO-{i}", "reason": "liquidation"}
        other = body if i % 2 == 0 else {**body, "reason": "another reason"}
        answers = _both(
            lambda r=r, body=body: w.post(r + "/write-offs", officer, body),
            lambda r=r, body=other: w.post(r + "/write-offs", officer, body),
        )
        statuses = sorted(_status(a) for a in answers)
        if i % 2 == 0:
            assert statuses == [(200, None), (201, None)], [a.text for a in answers]
            assert answers[0].json() == answers[1].json()
        else:
            assert statuses == [(201, None), (409, "idempotency_conflict")], [a.text for a in answers]
        entries = w.request("GET", r + "/ledger?limit=1000", "admin").json()["items"]
        kinds = [e["kind"] for e in entries]
        assert kinds.count("reseller_defaulted") == 1
        written = [(e["drawing_reference"], e["line_id"]) for e in entries if e["kind"] == "written_off"]
        assert written and len(written) == len(set(written))  # each allocation written off once
        claims = w.request("GET", f"/v1/distributors/{sc.d}/claims?limit=500", "admin").json()["items"]
        mine = [(c["funder_kind"], c["funder"]) for c in claims if c["reseller_id"] == sc.reseller(i)]
        assert len(mine) == len(set(mine)) == kinds.count("claim_opened")
    assert sc.problems() == []
    with w.uow.snapshot() as s:
        assert verify_all(s, distributor_id=sc.d) == []

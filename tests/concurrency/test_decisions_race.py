"""Credit decisions raced on PostgreSQL through a real two-worker server (SPEC §12):

* two officers decide one limit request at the same instant → exactly one wins, the other
  answers ``409 already_decided``, and the ledger holds one decision;
* an officer approves a nomination while the vendor closes the programme (or the distributor
  ends the partnership) → either the line is granted (the approval came first) or the approval
  answers ``programme_closed`` (``partnership_ended``) and no line exists; never a line granted
  by a closed programme or after the end (the witness invariants), never a 5xx.

Each round starts both sides at a barrier; the invariants and ``verify`` are checked after.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.concurrency.scenario import Scenario, Scenarios, eur

ROUNDS = 8


def _officer_keys(sc: Scenario, n: int) -> list[str]:
    names = []
    for x in range(n):
        name = f"officer-{x}:{sc.d}"
        sc.world.keys[name] = sc.world._ok(
            sc.world.post("/v1/api-keys", "admin", {"role": "credit_officer", "distributor_id": sc.d}), 201
        ).json()["key"]
        names.append(name)
    return names


def _both(first: Callable[[], httpx.Response], second: Callable[[], httpx.Response]) -> list[httpx.Response]:
    barrier = threading.Barrier(2)

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(run, [first, second]))


def _code(response: httpx.Response) -> str | None:
    return response.json().get("code") if response.status_code >= 400 else None


@pytest.mark.slow
def test_two_decisions_on_one_request_exactly_one_wins(scenarios: Scenarios) -> None:
    sc = scenarios.create("race-limit-decisions", rounds=ROUNDS)
    w = sc.world
    asker, left, right = _officer_keys(sc, 3)
    w._ok(w.request("PATCH", f"/v1/distributors/{sc.d}", "admin", {"approval_threshold": eur("100.00")}), 200)
    for i in range(ROUNDS):
        reseller = sc.reseller(i)
        asked = w._ok(
            w.request(
                "PUT",
                f"/v1/distributors/{sc.d}/resellers/{reseller}/base-limit",
                asker,
                {"limit": eur("5000.00"), "reason": f"round {i}"},
            ),
            202,
        ).json()
        path = f"/v1/distributors/{sc.d}/limit-requests/{asked['id']}/decision"
        bodies = (
            {"decision": "approve", "limit": eur("4000.00"), "reason": "left approves"},
            {"decision": ("reject", "approve")[i % 2], "reason": "right decides"},
        )
        answers = _both(
            lambda path=path, body=bodies[0]: w.request("POST", path, left, body),
            lambda path=path, body=bodies[1]: w.request("POST", path, right, body),
        )
        statuses = sorted((a.status_code, _code(a)) for a in answers)
        assert statuses == [(200, None), (409, "already_decided")], [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 200).json()
        entries = w.request("GET", f"/v1/distributors/{sc.d}/resellers/{reseller}/ledger?limit=1000", "admin").json()
        decisions = [e for e in entries["items"] if e["kind"] in ("limit_request_approved", "limit_request_rejected")]
        assert len(decisions) == 1 and decisions[0]["actor"] == winner["decided_by"]
        limit = w.request("GET", f"/v1/distributors/{sc.d}/resellers/{reseller}/availability", "admin").json()
        base = next(line for line in limit["lines"] if line["kind"] == "base")["limit"]
        assert base == (winner["decided_limit"] if winner["status"] == "approved" else eur("2000.00"))
    assert sc.problems() == []


@pytest.mark.slow
@pytest.mark.parametrize("other", ["close", "partnership_end"])
def test_nomination_approval_racing_the_programme_close(scenarios: Scenarios, other: str) -> None:
    """The other side closes the programme, or the distributor ends the partnership (re-admitted
    with approval before each round): a line exists exactly when the approval won."""
    sc = scenarios.create(f"race-nomination-{other}".replace("_", "-"), rounds=ROUNDS)
    w = sc.world
    partnership = f"/v1/distributors/{sc.d}/vendors/microsoft"
    refusal = {"close": "programme_closed", "partnership_end": "partnership_ended"}[other]
    for i in range(ROUNDS):
        w._ok(w.request("PUT", partnership, "admin", {"requires_approval": True}), 200)
        reseller = sc.reseller(i + 1)  # s<i> holds R<i> from the seed and one place left
        enrolled = w._ok(
            w.post(
                f"/v1/vendors/microsoft/programmes/{sc.standing(i)}/enrolments",
                "partner:microsoft",
                {"resellers": [{"reseller_id": reseller}]},
            ),
            200,
        ).json()["results"][0]
        assert enrolled["outcome"] == "pending_approval", enrolled
        approve = f"/v1/distributors/{sc.d}/nominations/{enrolled['nomination_id']}/decision"
        close = f"/v1/vendors/microsoft/programmes/{sc.standing(i)}"
        stop = (
            (lambda close=close: w.request("PATCH", close, "partner:microsoft", {"status": "closed"}))
            if other == "close"
            else (lambda: w.request("DELETE", partnership, "admin"))
        )
        approved, stopped = _both(
            lambda approve=approve: w.post(approve, sc.who("officer"), {"decision": "approve", "reason": "ok"}), stop
        )
        assert stopped.status_code == 200, stopped.text
        assert (approved.status_code, _code(approved)) in ((200, None), (409, refusal)), approved.text
        lines = w.request("GET", f"/v1/vendors/microsoft/programmes/{sc.standing(i)}/lines", "partner:microsoft").json()
        granted = [line for line in lines["items"] if line["reseller_id"] == reseller]
        assert len(granted) == (1 if approved.status_code == 200 else 0)
    assert sc.problems() == []


@pytest.mark.slow
def test_an_approval_racing_a_cover_cut_never_leaves_a_limit_above_the_cap(scenarios: Scenarios) -> None:
    """Under cover_plus_discretionary (discretionary 1,000), R<i> is covered 9,000 and asks for
    10,000; one officer approves while another records the insurer's cut to 2,000. Whatever the
    order, the base limit (2,000 from the seed) ends at most at 3,000: the approval either came
    first (10,000, then the cut lowered it to 3,000) or found the new cap (`422 above_insured_cap`,
    the limit stays 2,000)."""
    sc = scenarios.create("race-approval-cut", rounds=ROUNDS)
    w = sc.world
    asker, approver, insurer_desk = _officer_keys(sc, 3)
    w._ok(
        w.request(
            "PATCH",
            f"/v1/distributors/{sc.d}",
            "admin",
            {
                "approval_threshold": eur("100.00"),
                "base_cap_policy": "cover_plus_discretionary",
                "discretionary": eur("1000.00"),
            },
        ),
        200,
    )
    for i in range(ROUNDS):
        r = f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i)}"
        w._ok(
            w.request(
                "PUT",
                r + "/insurance",
                asker,
                {"insurer": "Coface", "cover": eur("9000.00"), "decided_on": "2026-03-01"},
            ),
            200,
        )
        asked = w._ok(
            w.request("PUT", r + "/base-limit", asker, {"limit": eur("10000.00"), "reason": "raise"}), 202
        ).json()
        path = f"/v1/distributors/{sc.d}/limit-requests/{asked['id']}/decision"
        approved, cut = _both(
            lambda path=path: w.request("POST", path, approver, {"decision": "approve", "reason": "ok"}),
            lambda r=r: w.request(
                "PUT",
                r + "/insurance",
                insurer_desk,
                {"insurer": "Coface", "cover": eur("2000.00"), "decided_on": "2026-03-02"},
            ),
        )
        assert cut.status_code == 200, cut.text
        assert (approved.status_code, _code(approved)) in ((200, None), (422, "above_insured_cap")), approved.text
        lines = w.request("GET", r + "/availability", "admin").json()["lines"]
        expected = "3000.00" if approved.status_code == 200 else "2000.00"  # cut to the cap, or never raised
        assert next(line for line in lines if line["kind"] == "base")["limit"] == eur(expected)
    assert sc.problems() == []

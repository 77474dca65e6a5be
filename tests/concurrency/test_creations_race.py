"""Create-if-absent paths raced on PostgreSQL through a real two-worker server (SPEC §23): ten
identical creations at once answer one `201` and `200` for the rest; ten creations of one id
with different bodies answer one `201` and `409` for the rest; never a 5xx. Before, ten
identical `POST /v1/vendors` answered some 500s (a UniqueViolation escaped `create_vendor`)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from tests.concurrency.scenario import Scenarios

N = 10


def _at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(calls))
    answers: list[httpx.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        answers[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def _statuses(answers: list[httpx.Response]) -> Counter[int]:
    return Counter(a.status_code for a in answers)


CREATIONS: dict[str, Callable[[str, int], tuple[str, str, dict]]] = {
    "distributor": lambda key, k: (
        "POST",
        "/v1/distributors",
        {"id": f"d-{key}", "name": f"Distributor {k}", "currency": "EUR", "timezone": "Europe/Paris"},
    ),
    "vendor": lambda key, k: ("POST", "/v1/vendors", {"id": f"v-{key}", "name": f"Vendor {k}"}),
    "reseller": lambda key, k: ("PUT", f"/v1/distributors/d-home/resellers/r-{key}", {"name": f"Reseller {k}"}),
    "partnership": lambda key, k: (
        "PUT",
        f"/v1/distributors/d-home/vendors/v-{key}",
        {"requires_approval": bool(k), "note": f"terms {k}"},
    ),
}


@pytest.fixture(scope="module")
def home(scenarios: Scenarios) -> Scenarios:
    body = {"id": "d-home", "name": "Home", "currency": "EUR", "timezone": "Europe/Paris"}
    scenarios._ok(scenarios.post("/v1/distributors", "admin", body), 200, 201)
    for key in ("same-partnership", "other-partnership"):
        scenarios._ok(scenarios.post("/v1/vendors", "admin", {"id": f"v-{key}", "name": key}), 200, 201)
    return scenarios


@pytest.mark.parametrize("what", list(CREATIONS))
def test_identical_creations_at_once_answer_one_201_and_200s(home: Scenarios, what: str) -> None:
    key = f"same-{what}"
    method, path, body = CREATIONS[what](key, 0)
    answers = _at_once([lambda: home.request(method, path, "admin", body) for _ in range(N)])
    statuses = _statuses(answers)
    assert statuses == Counter({201: 1, 200: N - 1}), [a.text for a in answers if a.status_code >= 300]


@pytest.mark.parametrize("what", ["distributor", "vendor", "reseller"])
def test_different_creations_of_one_id_at_once_answer_one_201_and_409s_or_200s(home: Scenarios, what: str) -> None:
    """Different bodies for one id: one creates; the others conflict (distributor, vendor) or,
    where a second body is an update (a reseller renamed), apply after it. Never a 5xx."""
    key = f"other-{what}"
    calls = []
    for k in range(N):
        method, path, body = CREATIONS[what](key, k)
        calls.append(lambda m=method, p=path, b=body: home.request(m, p, "admin", b))
    statuses = _statuses(_at_once(calls))
    assert statuses[201] == 1 and sum(statuses.values()) == N, statuses
    assert set(statuses) <= {200, 201, 409}, statuses

"""Held orders under races (SPEC §16), on PostgreSQL through the two-worker server: a release ×
a release, a release × a new drawing, a cancel × a release, the nightly re-check × a release,
all on one reseller with held orders. Each held order is released (or cancelled, or expired) at
most once, no reseller ends over its limit, no 5xx, no retried deadlock, ``verify`` finds nothing.

Per round ``i`` the reseller ``R<i>`` is filled to 0 available (drawing ``FILL``) and given four
held orders of 100.00 (``H1``…``H4``, oldest first) through the services, then the two sides race.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from moneyed import Money
from sqlalchemy import text

from creditlines import clock, ledger
from tests.concurrency.scenario import NOW, Scenario, Scenarios, eur

ROUNDS = 4
EIGHT_DAYS_AGO = (clock.parse_instant(NOW) - timedelta(days=8)).isoformat()


def _prepare(sc: Scenario, i: int, *, stale: bool = False) -> None:
    r = sc.reseller(i)
    with clock.frozen(NOW), sc.world.uow.write() as s:
        available = ledger.availability(s, distributor_id=sc.d, reseller_id=r, as_of=None).total_available
        ledger.draw(s, distributor_id=sc.d, reseller_id=r, reference="FILL", amount=available, actor="seed")
    if stale:  # held eight days ago: past the default 7 hold_days now, whether or not the job ran
        with clock.frozen(EIGHT_DAYS_AGO), sc.world.uow.write() as s:
            _held(s, sc, r, "H0", "5000.00")  # more than R<i> ever had
    with clock.frozen(NOW), sc.world.uow.write() as s:
        for n in range(1, 5):
            _held(s, sc, r, f"H{n}")


def _held(s, sc: Scenario, r: str, reference: str, amount: str = "100.00") -> None:
    view, _ = ledger.draw(
        s,
        distributor_id=sc.d,
        reseller_id=r,
        reference=reference,
        amount=Money(amount, "EUR"),
        actor="seed",
        on_refusal="hold",
    )
    assert view.status == "held", view


def _pay(amount: str, ref: str) -> Callable[[Scenario, int], None]:
    def op(sc: Scenario, i: int) -> None:
        sc.call(
            "release",
            "POST",
            f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i)}/drawings/FILL/releases",
            "integration",
            {"reference": f"{ref}-{i}", "amount": eur(amount), "kind": "payment"},
        )

    return op


def _draw(sc: Scenario, i: int) -> None:
    sc.call(
        "drawing",
        "POST",
        f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i)}/drawings",
        "integration",
        {"reference": f"NEW-{i}", "amount": eur("50.00")},
    )


def _cancel(sc: Scenario, i: int) -> None:
    sc.call("cancel", "DELETE", f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i)}/drawings/H1", "integration")


def _nightly(sc: Scenario, i: int) -> None:
    sc.call("nightly", "POST", "/v1/jobs/expiry", "admin", {})


def _race(sc: Scenario, a: Callable[[Scenario, int], None], b: Callable[[Scenario, int], None]) -> None:
    barrier = threading.Barrier(2)

    def run(op: Callable[[Scenario, int], None]) -> None:
        for i in range(sc.rounds):
            barrier.wait(timeout=60)
            op(sc, i)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, (a, b)))


def _statuses(sc: Scenario, i: int) -> dict[str, str]:
    with sc.world.uow.read() as s:
        rows = s.execute(
            text("SELECT reference, status FROM drawing WHERE distributor_id = :d AND reseller_id = :r"),
            {"d": sc.d, "r": sc.reseller(i)},
        )
        return {ref: status for ref, status in rows if ref.startswith("H") or ref == f"NEW-{i}"}


def _events(sc: Scenario) -> Counter[tuple[str, str, str]]:
    with sc.world.uow.read() as s:
        rows = s.execute(
            text("SELECT type, reseller_id, data FROM event WHERE distributor_id = :d AND type LIKE 'drawing.hold%'"),
            {"d": sc.d},
        )
        return Counter((type_, r, json.loads(data)["reference"]) for type_, r, data in rows)


def _check(sc: Scenario) -> None:
    problems = sc.problems()
    assert not problems, "\n".join(problems + [f"answers: {sc.tally()}"])
    twice = [key for key, n in _events(sc).items() if n > 1]
    assert not twice, f"a held order ended twice: {twice}"
    for i in range(sc.rounds):
        with sc.world.uow.read() as s:
            view = ledger.availability(s, distributor_id=sc.d, reseller_id=sc.reseller(i), as_of=None)
        assert not view.over_limit, (sc.reseller(i), view.total_drawn, view.total_limit)


def _answers(sc: Scenario, op: str) -> list[tuple[str, int, str | None]]:
    return [(a.path, a.status, a.code) for a in sc.answers if a.op == op]


@pytest.mark.slow
def test_release_x_release_releases_each_held_order_once(scenarios: Scenarios):
    sc = scenarios.create("held-release-x-release", rounds=ROUNDS)
    for i in range(ROUNDS):
        _prepare(sc, i)
    _race(sc, _pay("150.00", "PA"), _pay("150.00", "PB"))
    _check(sc)
    for i in range(ROUNDS):  # 300 freed in all: the three oldest fit, whichever payment came first
        assert _statuses(sc, i) == {"H1": "open", "H2": "open", "H3": "open", "H4": "held"}


@pytest.mark.slow
def test_release_x_new_drawing_never_overdraws(scenarios: Scenarios):
    sc = scenarios.create("held-release-x-drawing", rounds=ROUNDS)
    for i in range(ROUNDS):
        _prepare(sc, i)
    _race(sc, _pay("250.00", "PA"), _draw)
    _check(sc)
    drawings = {path: (status, code) for path, status, code in _answers(sc, "drawing")}
    for i in range(ROUNDS):
        statuses = _statuses(sc, i)
        assert statuses["H1"] == statuses["H2"] == "open" and statuses["H3"] == statuses["H4"] == "held"
        # 250 freed, 200 to H1 and H2: the new order fits in the 50 left only if it came after
        assert list(drawings.values())[i][0] in (201, 409)


@pytest.mark.slow
def test_cancel_x_release_exactly_one_wins(scenarios: Scenarios):
    sc = scenarios.create("held-cancel-x-release", rounds=ROUNDS)
    for i in range(ROUNDS):
        _prepare(sc, i)
    _race(sc, _cancel, _pay("100.00", "PA"))
    _check(sc)
    cancels = _answers(sc, "cancel")
    for i in range(ROUNDS):
        _, status, code = cancels[i]
        statuses = _statuses(sc, i)
        if status == 200:  # the cancel first: the payment's 100 went to H2
            assert statuses == {"H1": "cancelled", "H2": "open", "H3": "held", "H4": "held"}
        else:
            assert (status, code) == (409, "not_held")
            assert statuses == {"H1": "open", "H2": "held", "H3": "held", "H4": "held"}


@pytest.mark.slow
def test_nightly_recheck_x_release_expires_and_releases_once(scenarios: Scenarios):
    sc = scenarios.create("held-nightly-x-release", rounds=ROUNDS)
    for i in range(ROUNDS):
        _prepare(sc, i, stale=True)
    _race(sc, _nightly, _pay("100.00", "PA"))
    _check(sc)
    events = _events(sc)
    for i in range(ROUNDS):
        r = sc.reseller(i)
        assert _statuses(sc, i) == {"H0": "expired", "H1": "open", "H2": "held", "H3": "held", "H4": "held"}
        assert events[("drawing.hold_expired", r, "H0")] == 1
        assert events[("drawing.hold_released", r, "H1")] == 1


def _finance(sc: Scenario, i: int) -> None:
    sc.call(
        "financing",
        "POST",
        f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i)}/financings",
        "integration",
        {
            "reference": f"MSF-{i}",
            "financier": "microsoft-financing",
            "amount": eur("5000.00"),
            "order_reference": f"SO-MSF-{i}",
        },
    )


@pytest.mark.slow
def test_two_identical_financings_at_once_one_201_one_200(scenarios: Scenarios):
    """SPEC §23: two identical creations at once answer one 201 and a 200, never a 5xx."""
    sc = scenarios.create("financing-x-financing", rounds=ROUNDS)
    _race(sc, _finance, _finance)
    _check(sc)
    statuses = Counter(status for _, status, _ in _answers(sc, "financing"))
    assert statuses == {201: ROUNDS, 200: ROUNDS}, sc.tally()

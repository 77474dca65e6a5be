"""The concurrency matrix on PostgreSQL: every pair of write paths that can meet on a reseller or
a programme, raced through a real two-worker server, then checked: no 5xx (a 503 included), every
invariant of ``tests/invariants.py``, and the ledger folded back into balances (``verify``).
A transaction the server had to retry (a deadlock, 40P01) fails the race too: retrying hides a
lock-order bug from the client, not from this matrix.

Reintroduced bugs and what caught them (2026-12-03): locks without refreshing the identity map
(``locked()`` without ``populate_existing``) → enrolment × ends_on: "standing line ends on its
programme's ends_on"; enrolment × close: "nothing granted in a closed programme (witness)".
The purchase event's claim row written before its locks, with ``FOR UPDATE`` reseller locks (the
first version) → purchase × purchase and enrolment × purchase: "transaction aborted (40P01)".
"""

from __future__ import annotations

import pytest

from tests.concurrency.scenario import OPERATIONS, Scenarios, pairs, race
from tests.harness import verify_cli

ROUNDS = 6


def test_each_operation_does_its_work_alone(scenarios: Scenarios):
    """Without a race every operation is accepted, so a race that refuses them all proves nothing."""
    names = [n for n in OPERATIONS if n != "partnership_end"] + ["partnership_end"]  # it ends the grants
    sc = scenarios.create("alone", rounds=len(names))
    for i, name in enumerate(names):
        OPERATIONS[name][0](sc, i, 0, 0)
    refused = [f"{a.op}: {a.method} {a.path} → {a.status} {a.code}" for a in sc.answers if not 200 <= a.status < 300]
    assert not refused, refused
    granted = {a.op for a in sc.answers if a.op in ("enrolment", "purchase") and '"granted"' in a.detail}
    assert granted == {"enrolment", "purchase"}, sc.tally()
    expired = [a for a in sc.answers if a.op == "expiry"]
    assert expired and '"lines_expired":0' not in expired[0].detail.replace(" ", ""), expired
    assert sc.problems() == []


@pytest.mark.slow
@pytest.mark.parametrize("a,b", pairs(), ids=[f"{a}-x-{b}" for a, b in pairs()])
def test_race(scenarios: Scenarios, a: str, b: str):
    sc = scenarios.create(f"race-{a}-{b}".replace("_", "-"), rounds=ROUNDS)
    race(sc, a, b)
    problems = sc.problems()
    assert not problems, "\n".join(problems + [f"answers: {sc.tally()}"])


@pytest.mark.slow
def test_verify_cli_over_every_race(scenarios: Scenarios):
    """`creditlines verify`, as an operator runs it, over the database every race above wrote to."""
    checked = verify_cli(scenarios.server.database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr

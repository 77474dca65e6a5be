"""Group commit on PostgreSQL (issue 26): ``creditlines_draw_many`` posts a list of drawings in one
transaction, each with its own outcome, and :class:`creditlines.db.batch.GroupCommit` sends the
drawings that queue on a worker as one such call.

* Parity: one list of drawings over four twin resellers (and an unknown one) — created, refused
  for credit, held, replayed and in conflict within the same call, refused by the overdue stop
  twice, terminated, unknown, a drawing refused only because an earlier one in the call took the
  room — posted once as ONE ``creditlines_draw_many`` call and once as successive
  ``creditlines_draw`` calls (each its own transaction, as without group commit): the outcomes
  equal in order, and every row either wrote equal column by column (the comparison of
  tests/ledger/test_draw_parity.py, its helpers reused).
* A worked example, numbers written out: a refusal in a call refuses nothing else.
* ``GroupCommit`` through the real hot pool (``HotPath`` on the test PostgreSQL): drawings posted
  at once go together and each gets its own answer; a faulty drawing in a group fails alone; a
  reseller another transaction holds delays its own drawings only — in a group, and when a drawing
  for it went alone (the first version sent that one by ``creditlines_draw``, which waited for the
  lock in the worker's one slot: the drawings queued behind it, other resellers', waited too).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.db.engine import UnitOfWork
from creditlines.db.hot import HotPath
from creditlines.ledger.desk import DRAW_COLUMNS, DRAW_MANY_PG, DRAW_PG, DrawingDesk
from creditlines.ledger.drawings import DrawingRequest, DrawOutcome
from creditlines.ledger.models import Drawing, Line
from creditlines.ledger.resellers import upsert_reseller
from creditlines.ledger.terms import OverdueStop, update_policy
from creditlines.ledger.verify import verify
from creditlines.tenants.lookup import require_distributor
from tests.conftest import TABLES
from tests.factories import eur, make_world
from tests.harness import libpq_url
from tests.ledger.test_draw_parity import (
    BUILT,
    JUN_30,
    POSTED,
    D,
    _base,
    _differences,
    _line,
    _marks,
    _old,
    _result,
    _state,
    _terminate,
)


@pytest.fixture(scope="module")
def world(pg_admin_engine, pg_engine, pg_url):
    """One database for the module (each test has resellers of its own): emptied, then Actebis."""
    with pg_admin_engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # the ledger's TRUNCATE trigger
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    uow = UnitOfWork(pg_engine)
    clock.set_now(BUILT)
    make_world(uow)
    yield uow
    if uow.read_engine is not None:
        uow.read_engine.dispose()


def _new_reseller(uow: UnitOfWork, reseller_id: str, *steps) -> None:
    clock.set_now(BUILT)
    with uow.write() as s:
        upsert_reseller(s, distributor_id=D, reseller_id=reseller_id, name="Twin", actor="test")
    for step in steps:
        with uow.write() as s:
            step(s, reseller_id)


def _request(s: Session, reseller_id: str, reference: str, amount: int, **more: Any) -> DrawingRequest:
    more.setdefault("vendor_id", None)
    return DrawingRequest.of(
        require_distributor(s, D), reseller_id=reseller_id, reference=reference, amount=eur(amount), actor="erp", **more
    )


def _arrays(requests: list[DrawingRequest]) -> dict[str, list[Any]]:
    """creditlines_draw_many's arguments, as GroupCommit builds them: one list per column."""
    params = [request.params() for request in requests]
    return {name: [p[name] for p in params] for name in DRAW_COLUMNS}


def _draw_many(uow: UnitOfWork, requests: list[DrawingRequest], *, wait: bool = False) -> list[dict[str, Any]]:
    """ONE call of creditlines_draw_many (the statement GroupCommit sends: ``wait`` false skips the
    resellers locked elsewhere, true waits for them), in one transaction; the outcomes in the order
    of their positions. Nothing else holds these resellers: every drawing has its outcome."""
    with uow.write() as s:
        rows = s.connection().exec_driver_sql(DRAW_MANY_PG, {**_arrays(requests), "wait": wait}).all()
    assert [position for position, _ in rows] == list(range(1, len(requests) + 1)), rows
    assert all(outcome is not None for _, outcome in rows), rows
    return [outcome for _, outcome in rows]


def _draw_one(uow: UnitOfWork, request: DrawingRequest) -> dict[str, Any]:
    """One call of creditlines_draw (the statement of a drawing posted alone), its own transaction."""
    with uow.write() as s:
        outcome: dict[str, Any] = s.connection().exec_driver_sql(DRAW_PG, request.params()).scalar_one()
    return outcome


# ---------------------------------------------------------------------------- parity

# Each twin's state before the call. Actebis's overdue stop (19 days, EUR 500) is set once for all:
# only C has an overdue drawing (PO-0, EUR 600 due 10 February: 20 days overdue on 2 March).
TWINS = {
    "A": (_base(500), _line("microsoft", 500, JUN_30)),
    "B": (_base(1000),),
    "C": (_base(2000), _old("PO-0", 600, date(2026, 2, 10))),
    "T": (_base(1000), _terminate),
}
# (reseller, reference, amount in EUR, vendor, on_refusal, the outcome expected), in call order
CALL = [
    ("A", "PO-1", 800, "microsoft", "refuse", "created"),  # 500 on the base line, 300 on Microsoft's
    ("B", "PO-6", 700, None, "refuse", "created"),  # 300 left on B
    ("A", "PO-2", 300, None, "refuse", "insufficient_credit"),  # 200 left on A
    ("C", "PO-4", 100, None, "refuse", "overdue_stop"),  # announces the stop (reseller.overdue_stop)
    ("A", "PO-1", 800, "microsoft", "refuse", "replayed"),  # the first drawing of this very call
    ("B", "PO-7", 400, None, "refuse", "insufficient_credit"),  # fits B's 1,000 alone; PO-6 took the room
    ("U", "PO-1", 100, None, "refuse", "not_found"),
    ("A", "PO-1", 801, "microsoft", "refuse", "idempotency_conflict"),
    ("B", "PO-8", 400, None, "hold", "held"),  # short by 100: held, nothing drawn
    ("T", "PO-1", 100, None, "refuse", "reseller_terminated"),
    ("C", "PO-5", 100, None, "refuse", "overdue_stop"),  # the stop already announced by PO-4: no second event
    ("B", "PO-9", 300, None, "refuse", "created"),  # B's last 300 (crosses 100 %)
    ("A", "PO-3", 200, None, "refuse", "created"),  # A's last 200
]


@pytest.mark.parametrize("wait", [False, True], ids=["skipping-locked", "waiting"])
def test_one_grouped_call_writes_what_successive_calls_write(world, wait):
    tag = "w" if wait else "s"
    sides = {side: {x: f"{side}{tag}-{x}" for x in "ABCTU"} for side in ("one", "grp")}
    for names in sides.values():
        for twin, steps in TWINS.items():
            _new_reseller(world, names[twin], *steps)
    with world.write() as s:  # twice when both cases run: the same policy
        update_policy(s, distributor_id=D, overdue_stop=OverdueStop(19, 500_00))
    clock.set_now(POSTED)

    compared = {}
    for side, names in sides.items():
        marks = {}
        with world.write() as s:
            for twin in TWINS:
                marks[twin] = _marks(s, names[twin])
            requests = [
                _request(s, names[r], ref, amount, vendor_id=vendor, on_refusal=on_refusal)
                for r, ref, amount, vendor, on_refusal, _ in CALL
            ]
        if side == "one":
            outcomes = [_draw_one(world, request) for request in requests]
        else:
            outcomes = _draw_many(world, requests, wait=wait)
        with world.write() as s:
            states = {twin: _state(s, names[twin], *marks[twin]) for twin in TWINS}
        for twin, state in states.items():
            labels = marks[twin][2]
            state["result"] = [
                _result(outcome, {**labels, names[twin]: "<reseller>"})[0]
                for (r, *_), outcome in zip(CALL, outcomes, strict=True)
                if r == twin
            ]
        compared[side] = {"outcomes": [o["outcome"] for o in outcomes], "states": states}

    assert compared["one"]["outcomes"] == [expected for *_, expected in CALL]
    assert compared["grp"]["outcomes"] == compared["one"]["outcomes"]
    differences = []
    for twin in TWINS:
        found = _differences(compared["one"]["states"][twin], compared["grp"]["states"][twin])
        differences += [f"{twin}: {d}" for d in found]
    if differences:
        pytest.fail(
            "one grouped call and successive calls differ ('python' is one by one, 'function' grouped):\n"
            + "\n".join(differences),
            pytrace=False,
        )

    one = compared["one"]["states"]
    # what the comparison compared is what the call should have done
    assert [(d["reference"], d["status"], d["amount_minor"]) for d in one["A"]["drawing"]] == [
        ("PO-1", "open", 800_00),
        ("PO-3", "open", 200_00),
    ]
    kinds = [(a["drawing_reference"], a["line_id"].split("#")[0], a["amount_minor"]) for a in one["A"]["allocation"]]
    assert kinds == [("PO-1", "base", 500_00), ("PO-1", "programme", 300_00), ("PO-3", "programme", 200_00)]
    assert [(d["reference"], d["status"], d["amount_minor"]) for d in one["B"]["drawing"]] == [
        ("PO-6", "open", 700_00),
        ("PO-8", "held", 400_00),
        ("PO-9", "open", 300_00),
    ]
    assert [line["drawn_minor"] for line in one["B"]["line"]] == [1000_00]
    c_events = [e["type"] for e in one["C"]["event"]]
    assert c_events == ["drawing.refused", "reseller.overdue_stop", "drawing.refused"], c_events
    assert one["T"]["event"][0]["data"]["reasons"] == ["reseller_terminated"]


# ---------------------------------------------------------------------------- each its own outcome


def test_a_refusal_in_a_call_refuses_nothing_else(world):
    """Reseller W-1 has a base limit of EUR 1,000, W-2 one of EUR 500. One call:

    ==  ====  =====  ======  ===========================================================
    #   who   ref    amount  outcome
    ==  ====  =====  ======  ===========================================================
    1   W-1   PO-1   600     created: 600 of 1,000 drawn, 400 left
    2   W-2   PO-9   250     created (another reseller, between W-1's drawings)
    3   W-1   PO-2   600     insufficient_credit: available 400, shortfall 200
    4   W-1   PO-3   400     created: the refusal of PO-2 refused nothing else; 1,000 drawn
    ==  ====  =====  ======  ===========================================================

    W-1 ends with EUR 1,000.00 drawn on its base line (PO-1 + PO-3), W-2 with EUR 250.00.
    """
    _new_reseller(world, "W-1", _base(1000))
    _new_reseller(world, "W-2", _base(500))
    clock.set_now(POSTED)
    with world.write() as s:
        requests = [
            _request(s, "W-1", "PO-1", 600),
            _request(s, "W-2", "PO-9", 250),
            _request(s, "W-1", "PO-2", 600),
            _request(s, "W-1", "PO-3", 400),
        ]
    po1, po9, po2, po3 = _draw_many(world, requests)

    assert (po1["outcome"], po1["amount"], po1["allocations"][0][2]) == ("created", 600_00, 600_00)
    assert (po9["outcome"], po9["amount"]) == ("created", 250_00)
    assert po2 == {"outcome": "insufficient_credit", "available": 400_00, "shortfall": 200_00}
    assert (po3["outcome"], po3["amount"], po3["allocations"][0][2]) == ("created", 400_00, 400_00)
    with world.read() as s:
        drawn = dict(
            s.execute(
                select(Line.reseller_id, Line.drawn_minor).where(
                    Line.distributor_id == D, Line.reseller_id.in_(["W-1", "W-2"])
                )
            ).all()
        )
        drawings = s.execute(
            select(Drawing.reseller_id, Drawing.reference, Drawing.amount_minor)
            .where(Drawing.distributor_id == D, Drawing.reseller_id.in_(["W-1", "W-2"]))
            .order_by(Drawing.reseller_id, Drawing.reference)
        ).all()
        refused = s.execute(
            text("SELECT data FROM event WHERE reseller_id = 'W-1' AND type = 'drawing.refused'")
        ).scalar_one()
    assert drawn == {"W-1": 1000_00, "W-2": 250_00}
    assert [tuple(row) for row in drawings] == [
        ("W-1", "PO-1", 600_00),
        ("W-1", "PO-3", 400_00),
        ("W-2", "PO-9", 250_00),
    ]
    assert '"available_minor": 40000' in refused and '"shortfall_minor": 20000' in refused, refused


# ---------------------------------------------------------------------------- through the hot pool


def _counting(hot: HotPath, calls: list[int]) -> None:
    """Count the drawings each statement carried (the real fetch still runs)."""
    real = hot.fetch

    async def fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        reference = params.get("reference")
        calls.append(len(reference) if isinstance(reference, list) else 1)
        return await real(sql, params)

    hot.fetch = fetch  # type: ignore[method-assign]


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _post_all(url: str, uow: UnitOfWork, requests: list[DrawingRequest], calls: list[int]) -> list[Any]:
    hot = HotPath(url, pool_size=4)
    _counting(hot, calls)
    desk = DrawingDesk.grouped(uow, hot, in_flight=1)
    try:
        return await asyncio.gather(*(desk.post(r) for r in requests), return_exceptions=True)
    finally:
        await hot.close()


def test_drawings_posted_at_once_go_together_each_with_its_own_answer(world, pg_url):
    """30 drawings at once on G-1 (base EUR 1,000) and G-2 (base EUR 600), drawing k of EUR 50 + k
    on G-1 when k is even, on G-2 when odd. G-1's fifteen (50, 52, … 78) total 960: all created.
    G-2's first ten (51, 53, … 69) total exactly 600: created; its last five (71 … 79) find nothing
    left: insufficient_credit, available 0. Arrival order decides, whatever the grouping."""
    _new_reseller(world, "G-1", _base(1000))
    _new_reseller(world, "G-2", _base(600))
    clock.set_now(POSTED)
    with world.write() as s:
        requests = [_request(s, ("G-1", "G-2")[k % 2], f"SO-{k}", 50 + k) for k in range(30)]
    sizes_before = _sample("creditlines_group_commit_size_count") - _sample(
        "creditlines_group_commit_size_bucket", le="1.0"
    )
    calls: list[int] = []
    results = asyncio.run(_post_all(pg_url, world, requests, calls))

    assert sum(calls) == 30 and max(calls) > 1, calls  # one statement carried several drawings
    grouped = _sample("creditlines_group_commit_size_count") - _sample("creditlines_group_commit_size_bucket", le="1.0")
    assert grouped > sizes_before, "the size metric saw a call of more than one drawing"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    for k, (request, result) in enumerate(zip(requests, results, strict=True)):
        assert result.request is request
        if request.reseller_id == "G-1" or k < 20:
            assert result.outcome is DrawOutcome.CREATED, (k, result)
            assert result.drawing.amount == eur(50 + k), (k, result)  # this drawing's answer, not another's
        else:
            assert result.outcome is DrawOutcome.INSUFFICIENT_CREDIT, (k, result)
            assert (result.available_minor, result.shortfall_minor) == (0, (50 + k) * 100), (k, result)
    with world.snapshot() as s:
        drawn = dict(
            s.execute(
                select(Line.reseller_id, func.sum(Line.drawn_minor))
                .where(Line.distributor_id == D, Line.reseller_id.in_(["G-1", "G-2"]))
                .group_by(Line.reseller_id)
            ).all()
        )
        references = set(
            s.scalars(select(Drawing.reference).where(Drawing.distributor_id == D, Drawing.reseller_id == "G-2"))
        )
        assert verify(s, distributor_id=D) == []
    assert drawn == {"G-1": 960_00, "G-2": 600_00}
    assert references == {f"SO-{k}" for k in range(1, 20, 2)}


@pytest.mark.parametrize(
    "reseller, fault",
    [
        # 10**19 overflows bigint: the grouped statement fails before any drawing runs
        ("F-1", {"amount_minor": 10**19}),
        # 101 characters overflow drawing.reference: fails inside the call, after two drawings ran
        ("F-2", {"reference": "X" * 101}),
    ],
    ids=["amount-overflows-bigint", "reference-too-long"],
)
def test_a_faulty_drawing_in_a_group_fails_alone(world, pg_url, reseller, fault):
    """Five drawings of EUR 100 on F-<n> (base EUR 1,000) posted at once, the third faulty (built
    directly, past DrawingRequest.of's checks): it raises, the four others are created once each,
    and the split is counted."""
    _new_reseller(world, reseller, _base(1000))
    clock.set_now(POSTED)
    with world.write() as s:
        requests = [_request(s, reseller, f"SO-{k}", 100) for k in range(5)]
    good = requests[:2] + requests[3:]
    requests[2] = replace(requests[2], **fault)  # the constructor only: DrawingRequest.of would refuse it
    splits = _sample("creditlines_group_commit_splits_total")
    calls: list[int] = []
    results = asyncio.run(_post_all(pg_url, world, requests, calls))

    assert calls[0] == 5, calls  # sent together first
    # split at least once (posted alone at once, the four others on F-<n> may skip each other and
    # meet again in the waiting lane with the faulty one: a second split, as many as it takes)
    assert _sample("creditlines_group_commit_splits_total") >= splits + 1
    assert isinstance(results[2], psycopg.Error), results[2]  # its own error, raised to its own caller
    assert [r.outcome for r in results[:2] + results[3:]] == [DrawOutcome.CREATED] * 4, results
    assert [r.request for r in results[:2] + results[3:]] == good
    with world.snapshot() as s:
        references = sorted(
            s.scalars(select(Drawing.reference).where(Drawing.distributor_id == D, Drawing.reseller_id == reseller))
        )
        drawn = s.scalar(
            select(func.sum(Line.drawn_minor)).where(Line.distributor_id == D, Line.reseller_id == reseller)
        )
        assert verify(s, distributor_id=D) == []
    assert references == ["SO-0", "SO-1", "SO-3", "SO-4"]
    assert drawn == 400_00


# ---------------------------------------------------------------------------- a lock held elsewhere

LOCK = "SELECT 1 FROM reseller WHERE distributor_id = %s AND id = %s FOR NO KEY UPDATE"  # as a write path locks


async def _blocked(url: str, uow: UnitOfWork, locked: str, first: list[DrawingRequest], then: list[DrawingRequest]):
    """Another transaction holds ``locked`` (a payment, a nightly job) while the desk posts
    ``first``, and 0.3 s later ``then``. Returns, per request, whether it was answered before that
    transaction ended, and every result."""
    hot = HotPath(url, pool_size=4)
    desk = DrawingDesk.grouped(uow, hot)
    blocker = await psycopg.AsyncConnection.connect(libpq_url(url))
    try:
        await blocker.execute(LOCK, (D, locked))
        early = [asyncio.ensure_future(desk.post(r)) for r in first]
        await asyncio.sleep(0.3)
        later = [asyncio.ensure_future(desk.post(r)) for r in then]
        tasks = early + later
        others = [t for t, r in zip(tasks, first + then, strict=True) if r.reseller_id != locked]
        await asyncio.wait(others, timeout=5)
        answered = [t.done() for t in tasks]
    finally:
        await blocker.rollback()  # the lock goes; the skipped drawings go on
        await blocker.close()
    try:
        results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    finally:
        await hot.close()
    return answered, results


def test_a_reseller_locked_elsewhere_delays_only_its_own_drawings(world, pg_url):
    """L-1 is held by another transaction; ten drawings of EUR 100 at once, alternately on L-1 and
    L-2 (base EUR 300 each). L-2's five are answered while L-1 is still held: its first three
    created, the last two refused (EUR 300 drawn). L-1's five wait, skipped from the group, and are
    posted once the lock goes, in their arrival order: again three created, two refused."""
    _new_reseller(world, "L-1", _base(300))
    _new_reseller(world, "L-2", _base(300))
    clock.set_now(POSTED)
    with world.write() as s:
        requests = [_request(s, ("L-1", "L-2")[k % 2], f"SO-{k}", 100) for k in range(10)]
    skipped = _sample("creditlines_group_commit_skipped_total")
    answered, results = asyncio.run(_blocked(pg_url, world, "L-1", requests, []))

    assert answered == [k % 2 == 1 for k in range(10)], answered  # L-2's before the lock went, L-1's after
    assert _sample("creditlines_group_commit_skipped_total") == skipped + 5
    for reseller in ("L-1", "L-2"):
        mine = [r for r in results if r.request.reseller_id == reseller]
        assert [r.outcome for r in mine] == [DrawOutcome.CREATED] * 3 + [DrawOutcome.INSUFFICIENT_CREDIT] * 2
        arrived = [q.reference for q in requests if q.reseller_id == reseller]
        assert [r.request.reference for r in mine] == arrived
        assert [r.drawing.reference for r in mine[:3]] == arrived[:3]  # the first to arrive got the room
    with world.snapshot() as s:
        assert verify(s, distributor_id=D) == []


def test_a_drawing_alone_for_a_locked_reseller_holds_no_other(world, pg_url):
    """M-1 is held by another transaction. A drawing for M-1 arrives first, finds the slot free and
    goes alone; 0.3 s later a drawing for M-2 arrives. M-2's is answered while M-1 is still held:
    the lone drawing waits for its lock outside the worker's one slot, not in it."""
    _new_reseller(world, "M-1", _base(300))
    _new_reseller(world, "M-2", _base(300))
    clock.set_now(POSTED)
    with world.write() as s:
        first, then = [_request(s, "M-1", "SO-1", 100)], [_request(s, "M-2", "SO-2", 100)]
    answered, results = asyncio.run(_blocked(pg_url, world, "M-1", first, then))

    assert answered == [False, True], "M-2's drawing waited for M-1's lock"
    assert [r.outcome for r in results] == [DrawOutcome.CREATED] * 2

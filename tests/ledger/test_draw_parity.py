"""The drawing function and the Python path write the same rows, column by column (PostgreSQL).

On PostgreSQL a drawing is one call of ``creditlines_draw`` (creditlines/db/sql/); on SQLite it
is ``creditlines.ledger.drawings.draw_in_python``. Every other database test runs each path on its own
database and compares answers and totals; this one runs both on one PostgreSQL database, from
the same state: two twin resellers built by the same service calls (each case its own twins), one drawing through each
path, then every row the drawing may touch compared column by column: the result, the reseller
(its sequence), its lines (drawn, status...), its drawings and their allocations (order, line,
funder, amount, outstanding), the ledger entries appended (kind, line, amounts, seq, details as
stored text) and the events appended (type, instant, scope, data).

Normalised, because they legitimately differ: the reseller's id (``<reseller>``), the lines'
generated ids (``<kind>#<grant_seq>``, equal across twins), the events' generated ``id`` and
``txid``, and the events' ``data`` compared as JSON values (the function writes ``jsonb::text``,
Python a compact ``json.dumps``; both are read back with a JSON parser). Everything else,
timestamps included, must be equal: the clock is fixed, so both paths post at the same instant.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from creditlines import clock
from creditlines.db.engine import UnitOfWork
from creditlines.ledger.drawings import DRAW_SQL, DrawingRequest, draw, draw_in_python
from creditlines.ledger.financing import create_financing
from creditlines.ledger.lines import grant_programme_line
from creditlines.ledger.releases import release
from creditlines.ledger.repository import get_reseller
from creditlines.ledger.resellers import place_hold, set_base_limit, terminate, upsert_reseller
from creditlines.ledger.terms import OverdueStop, update_policy
from creditlines.tenants.lookup import require_distributor
from tests.conftest import TABLES
from tests.factories import eur, make_world

D = "actebis"
BUILT = "2026-02-02T09:00:00+00:00"  # the twins' lines and earlier drawings
POSTED = "2026-03-02T09:00:00+00:00"  # the drawing compared (10:00 in Paris)
PARIS_PAST_MIDNIGHT = "2026-03-01T23:30:00+00:00"  # already 2 March in Paris, still 1 March in UTC


# ---------------------------------------------------------------------------- the states


def _base(limit: int) -> Callable[[Session, str], None]:
    def step(s: Session, r: str) -> None:
        set_base_limit(s, distributor_id=D, reseller_id=r, limit=eur(limit), reason="opening", actor="test")

    return step


def _line(
    vendor: str, limit: int, until: date, *, usable_for: str = "any", on_expiry: str = "transfer_to_base"
) -> Callable[[Session, str], None]:
    def step(s: Session, r: str) -> None:
        grant_programme_line(
            s,
            distributor_id=D,
            reseller_id=r,
            vendor_id=vendor,
            programme_id=None,
            limit=eur(limit),
            valid_until=until,
            usable_for=usable_for,
            on_expiry=on_expiry,
            valid_from=date(2026, 1, 15),
            actor="test",
        )

    return step


def _drawn(reference: str, amount: int, vendor: str | None = None) -> Callable[[Session, str], None]:
    """An earlier drawing, through the service (the function, on PostgreSQL), alike for both twins."""

    def step(s: Session, r: str) -> None:
        draw(s, distributor_id=D, reseller_id=r, reference=reference, amount=eur(amount), vendor_id=vendor, actor="erp")

    return step


def _held(reference: str, amount: int) -> Callable[[Session, str], None]:
    """An earlier held order, through the service (the function, on PostgreSQL)."""

    def step(s: Session, r: str) -> None:
        draw(
            s, distributor_id=D, reseller_id=r, reference=reference, amount=eur(amount), actor="erp", on_refusal="hold"
        )

    return step


def _terms(days: int | None) -> Callable[[Session, str], None]:
    """The reseller's own payment terms (None: the distributor's 30 days)."""

    def step(s: Session, r: str) -> None:
        upsert_reseller(s, distributor_id=D, reseller_id=r, name="Twin", actor="test", payment_terms_days=days)

    return step


def _old(reference: str, amount: int, due_on: date) -> Callable[[Session, str], None]:
    """An earlier drawing with an ERP-given due date (invoiced the day it was posted, 2 February)."""

    def step(s: Session, r: str) -> None:
        draw(s, distributor_id=D, reseller_id=r, reference=reference, amount=eur(amount), actor="erp", due_on=due_on)

    return step


def _paid(reference: str, amount: int) -> Callable[[Session, str], None]:
    def step(s: Session, r: str) -> None:
        release(
            s,
            distributor_id=D,
            reseller_id=r,
            drawing_reference=reference,
            reference=f"PAY-{reference}",
            amount=eur(amount),
            kind="payment",
            actor="erp",
        )

    return step


def _financed(order: str, amount: int) -> Callable[[Session, str], None]:
    def step(s: Session, r: str) -> None:
        create_financing(
            s,
            distributor_id=D,
            reseller_id=r,
            reference=f"FIN-{order}",
            financier="microsoft-financing",
            amount=eur(amount),
            order_reference=order,
            pay_within_hours=48,
            actor="erp",
        )

    return step


def _stop(after_days: int | None, min_amount: int = 0) -> Callable[[Session, str], None]:
    """Actebis's overdue stop (shared by the twins: set alike before each one's steps)."""

    def step(s: Session, r: str) -> None:
        stop = None if after_days is None else OverdueStop(after_days, min_amount * 100)
        update_policy(s, distributor_id=D, overdue_stop=stop)

    return step


def _later(instant: str) -> Callable[[Session, str], None]:
    def step(s: Session, r: str) -> None:
        clock.set_now(instant)

    return step


def _announced(s: Session, r: str) -> None:
    """A stop announced earlier (reseller.overdue_stop_since set): no second event."""
    reseller = get_reseller(s, D, r, lock=True)
    assert reseller is not None
    reseller.overdue_stop_since = clock.now()


def _hold(s: Session, r: str) -> None:
    place_hold(s, distributor_id=D, reseller_id=r, reason="unpaid invoices", actor="desk")


def _terminate(s: Session, r: str) -> None:
    terminate(s, distributor_id=D, reseller_id=r, reason="insolvency", actor="desk")


@dataclass(frozen=True)
class Case:
    steps: tuple[Callable[[Session, str], None], ...]
    amount: int
    vendor: str | None = None
    reference: str = "PO-1"
    now: str = POSTED
    outcome: str = "created"
    exists: bool = True
    on_refusal: str = "refuse"
    after: tuple[Callable[[Session, str], None], ...] = ()  # run after the drawing, then compared
    invoice_date: date | None = None
    due_on: date | None = None


MAR_31, APR_30, JUN_30 = date(2026, 3, 31), date(2026, 4, 30), date(2026, 6, 30)

CASES = {
    "base only": Case((_base(1000),), 400),
    "base, then programme lines by end date, then grant order": Case(
        (_base(100), _line("microsoft", 300, JUN_30), _line("hp", 300, APR_30), _line("microsoft", 300, APR_30)),
        800,
    ),
    "vendor-only line, with its vendor": Case(
        (_base(100), _line("microsoft", 500, JUN_30, usable_for="vendor_products")), 300, vendor="microsoft"
    ),
    "vendor-only line, without a vendor": Case(
        (_base(100), _line("microsoft", 500, JUN_30, usable_for="vendor_products")),
        300,
        outcome="insufficient_credit",
    ),
    "vendor-only line, another vendor's order": Case(
        (_base(400), _line("microsoft", 500, JUN_30, usable_for="vendor_products")), 300, vendor="hp"
    ),
    "line past its end on the distributor's date, still active (run_off)": Case(
        (_base(100), _line("microsoft", 500, date(2026, 3, 1), on_expiry="run_off"), _line("hp", 200, JUN_30)),
        250,
        now=PARIS_PAST_MIDNIGHT,
    ),
    # 100 drawn on a line now past its end weighs on the base line, already drawn in full
    "transfer_to_base pending on the base line": Case(
        (_base(500), _line("microsoft", 300, date(2026, 2, 28)), _drawn("PO-0", 600)),
        200,
        outcome="insufficient_credit",
    ),
    # base 1000 drawn in full, 100 drawn on the expired line: the base is 100 short, so the hp
    # line's 200 leave 100 available, all of it on the hp line
    "transfer_to_base pending, the base short, the rest still drawable": Case(
        (_base(1000), _line("microsoft", 300, date(2026, 2, 28)), _line("hp", 200, MAR_31), _drawn("PO-0", 1100)),
        100,
    ),
    "insufficient credit": Case((_base(100), _line("hp", 50, JUN_30)), 151, outcome="insufficient_credit"),
    "base cut below what is drawn, a programme line still free": Case(
        (_base(1000), _line("microsoft", 300, JUN_30), _drawn("PO-0", 800), _base(500)),
        100,
        outcome="insufficient_credit",
    ),
    "on hold": Case((_base(1000), _hold), 100, outcome="account_on_hold"),
    "terminated": Case((_base(1000), _line("hp", 100, JUN_30), _terminate), 100, outcome="reseller_terminated"),
    "unknown reseller": Case((), 100, outcome="not_found", exists=False),
    "replay of the same reference": Case(
        (_base(1000), _line("hp", 300, APR_30), _drawn("PO-1", 1100, "hp")), 1100, vendor="hp", outcome="replayed"
    ),
    "idempotency conflict (amount)": Case((_base(1000), _drawn("PO-1", 100)), 120, outcome="idempotency_conflict"),
    "idempotency conflict (vendor)": Case(
        (_base(1000), _drawn("PO-1", 100)), 100, vendor="hp", outcome="idempotency_conflict"
    ),
    "exact last euro, crossing every threshold": Case(
        (_base(1000), _line("microsoft", 200, MAR_31), _drawn("PO-0", 500)), 700, vendor="microsoft"
    ),
    "crossing 70 % only": Case((_base(1000), _drawn("PO-0", 600)), 100),
    "no base limit, a programme line": Case((_line("hp", 500, JUN_30),), 1, vendor="hp"),
    # held orders (SPEC §16): held by the function under the reseller lock, released in Python
    "held: insufficient credit": Case((_base(100), _line("hp", 50, JUN_30)), 151, on_refusal="hold", outcome="held"),
    "held: account on hold, enough credit": Case((_base(1000), _hold), 100, on_refusal="hold", outcome="held"),
    "held: account on hold and short": Case((_base(100), _hold), 151, on_refusal="hold", outcome="held"),
    "hold asked, enough credit: posted": Case((_base(1000),), 100, on_refusal="hold"),
    "hold asked, terminated: refused": Case(
        (_base(1000), _terminate), 100, on_refusal="hold", outcome="reseller_terminated"
    ),
    "replay of a held order": Case((_base(100), _held("PO-1", 500)), 500, on_refusal="hold", outcome="replayed"),
    "held, then released by a payment": Case(
        (_base(1000), _drawn("PO-0", 1000), _later("2026-03-02T08:00:00+00:00"), _held("PO-A", 900)),
        300,
        on_refusal="hold",
        outcome="held",
        after=(_paid("PO-0", 400),),  # 400 free: PO-A (older, 900) is skipped, PO-1 (300) fits
    ),
    # financed orders (SPEC §17): the order's own financing line first, nobody else's
    "financed order: its financing first, then base": Case(
        (_base(1000), _line("hp", 300, JUN_30), _financed("PO-1", 500), _financed("PO-2", 400)), 800
    ),
    "another order cannot use a financing": Case(
        (_base(100), _financed("PO-2", 5000)), 300, outcome="insufficient_credit"
    ),
    "held, then expired at the next re-check": Case(
        (_base(100),),
        300,
        on_refusal="hold",
        outcome="held",
        after=(_later("2026-03-09T09:00:00+00:00"), _base(1000)),
    ),
    # SPEC §18: due dates and the overdue stop (each case sets Actebis's stop first, then back to none)
    "due in the distributor's 30 days": Case((_stop(None), _base(1000)), 100),
    "due in the reseller's own 45 days": Case((_stop(None), _base(1000), _terms(45)), 100),
    "due on the ERP's dates": Case(
        (_stop(None), _base(1000)), 100, invoice_date=date(2026, 2, 20), due_on=date(2026, 5, 31)
    ),
    "only a due date, the invoice dated today": Case((_stop(None), _base(1000)), 100, due_on=date(2026, 3, 20)),
    "replay naming another due date": Case(
        (_stop(None), _base(1000), _drawn("PO-1", 100)), 100, due_on=date(2026, 9, 30), outcome="idempotency_conflict"
    ),
    # PO-0 due 10 February: on 2 March 20 days overdue
    "overdue beyond the stop's days and amount": Case(
        (_stop(19, 500), _base(2000), _old("PO-0", 600, date(2026, 2, 10))), 100, outcome="overdue_stop"
    ),
    "overdue, but not beyond the stop's days": Case(
        (_stop(20, 500), _base(2000), _old("PO-0", 600, date(2026, 2, 10))), 100
    ),
    "overdue beyond the days, under the stop's amount": Case(
        (_stop(19, 500), _base(2000), _old("PO-0", 600, date(2026, 2, 10)), _paid("PO-0", 101)), 100
    ),
    "the stop, on hold as well: the hold answers first": Case(
        (_stop(19, 500), _base(2000), _old("PO-0", 600, date(2026, 2, 10)), _hold), 100, outcome="account_on_hold"
    ),
    "the stop already announced (a second refusal)": Case(
        (_stop(19, 500), _base(2000), _old("PO-0", 600, date(2026, 2, 10)), _announced), 100, outcome="overdue_stop"
    ),
}


# ---------------------------------------------------------------------------- the comparison


def _request(s: Session, reseller_id: str, case: Case) -> DrawingRequest:
    return DrawingRequest.of(
        require_distributor(s, D),
        reseller_id=reseller_id,
        reference=case.reference,
        amount=eur(case.amount),
        vendor_id=case.vendor,
        actor="erp",
        on_refusal=case.on_refusal,
        invoice_date=case.invoice_date,
        due_on=case.due_on,
    )


def _post_in_python(s: Session, reseller_id: str, case: Case) -> dict[str, Any]:
    """The engine SQLite runs, run here on PostgreSQL."""
    return draw_in_python(s, _request(s, reseller_id, case))


def _post_in_sql(s: Session, reseller_id: str, case: Case) -> dict[str, Any]:
    """The engine PostgreSQL runs: one call of ``creditlines_draw``."""
    result: dict[str, Any] = s.execute(text(DRAW_SQL), _request(s, reseller_id, case).params()).scalar_one()
    return result


def _rows(s: Session, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in s.execute(text(sql), {"d": D, **params}).mappings()]


def _marks(s: Session, reseller_id: str) -> tuple[int, int, dict[str, str]]:
    """Before the drawing: the reseller's sequence, the last event id, and the lines' labels."""
    seq = s.execute(
        text("SELECT ledger_seq FROM reseller WHERE distributor_id = :d AND id = :r"), {"d": D, "r": reseller_id}
    ).scalar()
    event = s.execute(text("SELECT coalesce(max(id), 0) FROM event")).scalar_one()
    labels = {
        row["id"]: f"{row['kind']}#{row['grant_seq']}"
        for row in _rows(
            s, "SELECT id, kind, grant_seq FROM line WHERE distributor_id = :d AND reseller_id = :r", r=reseller_id
        )
    }
    return seq or 0, event, labels


def _normalise(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {key: _normalise(item, names) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item, names) for item in value]
    return value


def _result(result: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    out = dict(result)
    created_at = out.get("created_at")
    if isinstance(created_at, str):  # the function's jsonb carries the instant as text, naive UTC
        created_at = datetime.fromisoformat(created_at)
    if isinstance(created_at, datetime) and created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    if created_at is not None:
        out["created_at"] = created_at.astimezone(UTC)
    if out.get("hold") is not None:
        out["hold"] = {key: _aware(value) if key.endswith("_at") else value for key, value in out["hold"].items()}
    return [_normalise(out, names)]


def _aware(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


def _state(s: Session, reseller_id: str, seq: int, event: int, labels: dict[str, str]) -> dict[str, list[dict]]:
    names = {**labels, reseller_id: "<reseller>"}
    r = reseller_id
    where = "WHERE distributor_id = :d AND reseller_id = :r"
    state = {
        "reseller": _rows(s, "SELECT * FROM reseller WHERE distributor_id = :d AND id = :r", r=r),
        "line": _rows(s, f"SELECT * FROM line {where} ORDER BY grant_seq", r=r),
        "drawing": _rows(s, f"SELECT * FROM drawing {where} ORDER BY reference", r=r),
        "allocation": _rows(s, f"SELECT * FROM allocation {where} ORDER BY drawing_reference, position", r=r),
        "financing": _rows(s, f"SELECT * FROM financing {where} ORDER BY reference", r=r),
        "ledger_entry": _rows(s, f"SELECT * FROM ledger_entry {where} AND seq > :seq ORDER BY seq", r=r, seq=seq),
        "event": _rows(s, f"SELECT * FROM event {where} AND id > :event ORDER BY id", r=r, event=event),
    }
    for row in state["event"]:
        del row["id"], row["txid"]  # generated
        row["data"] = json.loads(row["data"])
    return {table: [_normalise(row, names) for row in rows] for table, rows in state.items()}


MISSING = "<missing>"


def _compare(path: str, mine: Any, theirs: Any, out: list[str]) -> None:
    """Down through rows, columns and JSON documents, to the first values that differ (type included)."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        for key in sorted(mine.keys() | theirs.keys()):
            _compare(f"{path}.{key}", mine.get(key, MISSING), theirs.get(key, MISSING), out)
    elif isinstance(mine, list) and isinstance(theirs, list):
        if len(mine) != len(theirs):
            out.append(f"{path}: {len(mine)} by the Python path, {len(theirs)} by the function")
        for i in range(max(len(mine), len(theirs))):
            _compare(
                f"{path}[{i}]", mine[i] if i < len(mine) else MISSING, theirs[i] if i < len(theirs) else MISSING, out
            )
    elif mine != theirs or type(mine) is not type(theirs):
        out.append(f"{path}:\n    python   {mine!r}\n    function {theirs!r}")


def _differences(python: dict[str, list[dict]], function: dict[str, list[dict]]) -> list[str]:
    """Every difference, one each: ``table[row].column[.key…]`` then both values."""
    out: list[str] = []
    for table in python:
        _compare(table, python[table], function[table], out)
    return out


@pytest.fixture(scope="module")
def world(pg_admin_engine, pg_engine):
    """One database for every case (each case has its own twins): emptied, then Actebis with its vendors."""
    with pg_admin_engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # the ledger's TRUNCATE trigger
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    uow = UnitOfWork(pg_engine)
    clock.set_now(BUILT)
    make_world(uow)
    yield uow
    if uow.read_engine is not None:
        uow.read_engine.dispose()


@pytest.mark.parametrize("number, case", list(enumerate(CASES.values())), ids=list(CASES))
def test_the_function_writes_what_the_python_path_writes(world, number, case):
    twins = (f"py-{number}", f"sql-{number}")
    clock.set_now(BUILT)
    if case.exists:
        for twin in twins:
            clock.set_now(BUILT)
            with world.write() as s:
                upsert_reseller(s, distributor_id=D, reseller_id=twin, name="Twin", actor="test")
            for step in case.steps:
                with world.write() as s:
                    step(s, twin)
    clock.set_now(case.now)
    compared = {}
    for twin, post in zip(twins, (_post_in_python, _post_in_sql), strict=True):
        with world.write() as s:
            seq, event, labels = _marks(s, twin)
        clock.set_now(case.now)
        with world.write() as s:
            result = post(s, twin, case)
        for step in case.after:
            with world.write() as s:
                step(s, twin)
        with world.write() as s:
            state = _state(s, twin, seq, event, labels)
        state["result"] = _result(result, {**labels, twin: "<reseller>"})
        compared[twin] = state
    python, function = (compared[twin] for twin in twins)
    assert python["result"][0]["outcome"] == case.outcome, python["result"]
    differences = _differences(python, function)
    if differences:
        pytest.fail("the function and the Python path differ:\n" + "\n".join(differences), pytrace=False)
    if case.outcome in ("created", "insufficient_credit", "account_on_hold", "reseller_terminated", "overdue_stop"):
        assert python["event"], "a drawing or a refusal writes its event"
    if case.outcome == "created":
        assert python["allocation"] and python["ledger_entry"]
    if python["financing"] and case.outcome == "created":  # the financier's clock started with the drawing
        assert [f["due_at"] is not None for f in python["financing"]] == [True, False]
    if case.outcome == "held":
        assert [e["type"] for e in python["event"]][:1] == ["drawing.held"]
    statuses = {row["reference"]: row["status"] for row in python["drawing"]}
    if case.after and "PO-A" in statuses:
        assert statuses == {"PO-0": "open", "PO-A": "held", "PO-1": "open"}
    elif case.after:
        assert statuses == {"PO-1": "expired"}

"""Scenarios, write operations and races for the concurrency matrix.

A scenario is one distributor with resellers ``R00…``, and per round ``i`` a standing programme
``s<i>`` (budget: 2 beneficiaries, one enrolled beforehand) and a purchase-triggered one ``o<i>``
(category ``cat-<i>``, budget: 1 beneficiary), both of Microsoft; HP's ``old`` programme gave
every reseller a line, half drawn, that ended on 2026-02-20 + i (the expiry job's work). Every
reseller has a base limit of 2,000 with 1,000 drawn (drawing ``SEED``), under an insurer cover
of 100,000 with the distributor's ``cover_plus_discretionary`` policy (``cover_cut`` cuts it).

An operation is ``op(scenario, i, t, k)``: round ``i``, thread ``t`` (0 or 1) of the operation's
instance ``k`` (0 or 1: the two sides of a pair). In round ``i`` thread 0 of every operation
works on reseller ``R<i>`` and programme ``s<i>``/``o<i>``, thread 1 on the next reseller, so the
two sides of a pair meet on the same rows at the same moment (a barrier starts each round).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
from moneyed import Money

from creditlines import clock, ledger
from creditlines.db.engine import UnitOfWork
from creditlines.decisions import insurance, policy
from creditlines.ledger.verify import verify
from creditlines.programmes import purchases
from creditlines.programmes import service as programmes
from creditlines.programmes.enrolment import enrol
from tests.harness import Server
from tests.invariants import violations

ADMIN = "race-admin-key-of-at-least-32-characters"
NOW = "2026-03-02T09:00:00+00:00"  # a Monday, 10:00 in Paris
SEEDED_AT = "2025-09-15T08:00:00+00:00"
OLD_LINES_END = date(2026, 2, 20)  # + i: reseller R<i>'s line of HP's `old` programme
TODAY = date(2026, 3, 2)
JITTER_S = 0.015


def eur(amount: str) -> dict:
    return {"amount": amount, "currency": "EUR"}


def _eur(amount: str) -> Money:
    return Money(amount, "EUR")


@dataclass
class Answer:
    op: str
    method: str
    path: str
    status: int  # 0: no answer (connection error, timeout)
    code: str | None
    detail: str


class Scenarios:
    """Module-wide: the server, an admin client, the partner managers' keys."""

    def __init__(self, client: httpx.Client, uow: UnitOfWork, server: Server):
        self.client, self.uow, self.server = client, uow, server
        self.keys = {"admin": ADMIN}
        for vendor in ("microsoft", "hp"):
            self._ok(self.post("/v1/vendors", "admin", {"id": vendor, "name": vendor.title()}), 200, 201)
            self.keys[f"partner:{vendor}"] = self._ok(
                self.post("/v1/api-keys", "admin", {"role": "partner_manager", "vendor_id": vendor}), 201
            ).json()["key"]

    def request(self, method: str, path: str, who: str, body: dict | None = None) -> httpx.Response:
        return self.client.request(method, path, json=body, headers={"Authorization": f"Bearer {self.keys[who]}"})

    def post(self, path, who, body=None):
        return self.request("POST", path, who, body)

    @staticmethod
    def _ok(response: httpx.Response, *statuses: int) -> httpx.Response:
        assert response.status_code in statuses, (
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
        return response

    def create(self, name: str, rounds: int) -> Scenario:
        d = name[:64]
        self._ok(
            self.post(
                "/v1/distributors", "admin", {"id": d, "name": name, "currency": "EUR", "timezone": "Europe/Paris"}
            ),
            201,
        )
        for role in ("credit_officer", "integration"):
            self.keys[f"{role}:{d}"] = self._ok(
                self.post("/v1/api-keys", "admin", {"role": role, "distributor_id": d}), 201
            ).json()["key"]
        # Both vendors admitted at this distributor (SPEC §11); "partnership_end" ends Microsoft's.
        for v in ("microsoft", "hp"):
            self._ok(self.request("PUT", f"/v1/distributors/{d}/vendors/{v}", "admin", {}), 201)
        sc = Scenario(self, d, rounds)
        sc.seed()
        return sc


@dataclass
class Scenario:
    world: Scenarios
    d: str
    rounds: int
    answers: list[Answer] = field(default_factory=list)
    log_offset: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def resellers(self) -> list[str]:
        return [self.reseller(i) for i in range(self.rounds + 2)]

    @staticmethod
    def reseller(i: int) -> str:
        return f"R{i:02d}"

    def standing(self, i: int) -> str:
        return f"s{i}@{self.d}"

    def triggered(self, i: int) -> str:
        return f"o{i}@{self.d}"

    def who(self, role: str) -> str:
        return {
            "officer": f"credit_officer:{self.d}",
            "integration": f"integration:{self.d}",
            "microsoft": "partner:microsoft",
            "hp": "partner:hp",
            "admin": "admin",
        }[role]

    def call(self, op: str, method: str, path: str, who: str, body: dict | None = None) -> httpx.Response | None:
        """One request of a race; its answer is kept (status, problem code) for the checks."""
        try:
            response = self.world.request(method, path, self.who(who), body)
        except httpx.HTTPError as exc:
            with self._lock:
                self.answers.append(Answer(op, method, path, 0, None, f"{type(exc).__name__}: {exc}"))
            return None
        code = None
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            code = response.json().get("code")
        with self._lock:
            self.answers.append(Answer(op, method, path, response.status_code, code, response.text))
        return response

    # ------------------------------------------------------------------ setup

    def seed(self) -> None:
        """Through the services, in one transaction each (the HTTP API would take seconds more).

        The past (lines of HP's `old` programme granted in August 2025, ended in February 2026)
        could not be posted through a server whose clock is fixed at NOW anyway."""
        w, d = self.world, self.d
        with clock.frozen(NOW), w.uow.write() as s:
            for vendor, code, body in self._programmes():
                programmes.create_programme(s, vendor_id=vendor, distributor_id=d, code=code, name=code, **body)
        with clock.frozen(SEEDED_AT), w.uow.write() as s:
            for i, r in enumerate(self.resellers):
                ledger.upsert_reseller(s, distributor_id=d, reseller_id=r, name=f"Reseller {r}", actor="seed")
                ledger.set_base_limit(
                    s, distributor_id=d, reseller_id=r, limit=_eur("1000"), reason="opening", actor="seed"
                )
                trigger_day = _months_before(OLD_LINES_END + timedelta(days=min(i, 8) + 1), 6)
                answer, _ = purchases.record_purchase(
                    s,
                    distributor_id=d,
                    event_id=f"seed-{r}",
                    reseller_id=r,
                    vendor_id="hp",
                    product_category="old",
                    amount=_eur("10"),
                    occurred_at=datetime.combine(trigger_day, datetime.min.time(), UTC) + timedelta(hours=10),
                    actor="seed",
                )
                assert answer.results[0]["outcome"] == "granted", answer.results
                ledger.draw(
                    s, distributor_id=d, reseller_id=r, reference="SEED", amount=_eur("1200"), actor="seed"
                )  # 1,000 on the base line, 200 on the `old` line
                ledger.set_base_limit(
                    s, distributor_id=d, reseller_id=r, limit=_eur("2000"), reason="raise", actor="seed"
                )
        with clock.frozen(NOW), w.uow.write() as s:
            # Base limits capped at the insurer's cover (SPEC §12): 100,000 each, so only `cover_cut` bites.
            policy.update(
                s, distributor_id=d, actor="seed", base_cap_policy="cover_plus_discretionary", discretionary=_eur("0")
            )
            insurance.import_covers(
                s,
                distributor_id=d,
                decided_on=TODAY,
                actor="seed",
                rows=[(r, "Coface", _eur("100000")) for r in self.resellers],
            )
            for i in range(self.rounds):
                [result] = enrol(
                    s,
                    vendor_id="microsoft",
                    programme_id=self.standing(i),
                    resellers=[(self.reseller(i), None)],
                    actor="seed",
                )
                assert result.outcome == "granted", result

    def _programmes(self):
        yield (
            "hp",
            "old",
            dict(
                kind="purchase_triggered",
                line_limit=_eur("400"),
                starts_on=date(2025, 1, 1),
                ends_on=date(2026, 12, 31),
                trigger_category="old",
                trigger_min_amount=_eur("1"),
                line_duration_months=6,
            ),
        )
        for i in range(self.rounds):
            yield (
                "microsoft",
                f"s{i}",
                dict(
                    kind="standing",
                    line_limit=_eur("500"),
                    starts_on=date(2026, 1, 1),
                    ends_on=date(2026, 6, 30),
                    max_beneficiaries=2,
                    max_total_limit=_eur("1000"),
                ),
            )
            yield (
                "microsoft",
                f"o{i}",
                dict(
                    kind="purchase_triggered",
                    line_limit=_eur("500"),
                    starts_on=date(2026, 1, 1),
                    ends_on=date(2026, 12, 31),
                    trigger_category=f"cat-{i}",
                    trigger_min_amount=_eur("100"),
                    line_duration_months=6,
                    max_beneficiaries=1,
                    max_total_limit=_eur("500"),
                ),
            )

    # ------------------------------------------------------------------ checks

    def problems(self) -> list[str]:
        """Everything wrong after a race: 5xx or unanswered requests, broken invariants, verify."""
        found = [
            f"{a.op}: {a.method} {a.path} answered {a.status or 'nothing'} {a.code or ''} {a.detail[:160]}"
            for a in self.answers
            if a.status == 0 or a.status >= 500
        ]
        if found:
            found += [f"server log: {line}" for line in self.server_errors()]
        # A deadlock the service retried still answers 2xx, but it is a lock-order bug (issue 10:
        # purchase events must not deadlock with drawings, enrolments or each other).
        found += [f"server log: {line}" for line in self.retried_transactions()]
        found += violations(self.world.server.database_url, now=clock.parse_instant(NOW), distributor_id=self.d)
        with self.world.uow.snapshot() as s:
            found += [f"verify: {x}" for x in verify(s, distributor_id=self.d)]
        return found

    def server_errors(self) -> list[str]:
        """The first line and the CONTEXT of each error the server logged since the race began."""
        with open(self.world.server.log_path, errors="replace") as f:
            f.seek(self.log_offset)
            records = [json.loads(line) for line in f if line.startswith("{")]
        out = []
        for record in records:
            if record.get("level") == "ERROR":
                msg = record.get("msg", "").splitlines()
                context = next((m for m in msg if m.startswith("CONTEXT:")), "")
                out.append(f"{msg[0][:120] if msg else ''} {context}".strip())
        return out

    def retried_transactions(self) -> list[str]:
        """Each transaction the server aborted and retried (deadlock, serialization failure)."""
        with open(self.world.server.log_path, errors="replace") as f:
            f.seek(self.log_offset)
            records = [json.loads(line) for line in f if line.startswith("{")]
        return [
            record.get("msg", "")
            for record in records
            if record.get("msg", "").startswith("transaction ")
            and ("aborted" in record.get("msg", "") or "still aborted" in record.get("msg", ""))
        ]

    def tally(self) -> str:
        counts = Counter((a.op, a.status, a.code) for a in self.answers)
        return ", ".join(
            f"{op} {status}{' ' + code if code else ''} ×{n}"
            for (op, status, code), n in sorted(counts.items(), key=str)
        )


def _months_before(day: date, months: int) -> date:
    """The trigger day whose ``months``-month line ends the day before ``day``."""
    month = day.month - months
    year = day.year + (month - 1) // 12
    return day.replace(year=year, month=(month - 1) % 12 + 1)


# ---------------------------------------------------------------------- the write operations


def drawing(sc: Scenario, i: int, t: int, k: int) -> None:
    sc.call(
        "drawing",
        "POST",
        f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i + t)}/drawings",
        "integration",
        {"reference": f"D{k}{t}-{i}", "amount": eur("100.00")},
    )


def release(sc: Scenario, i: int, t: int, k: int) -> None:
    sc.call(
        "release",
        "POST",
        f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i + t)}/drawings/SEED/releases",
        "integration",
        {"reference": f"P{k}{t}-{i}", "amount": eur("25.00"), "kind": "payment"},
    )


def base_limit(sc: Scenario, i: int, t: int, k: int) -> None:
    sc.call(
        "base_limit",
        "PUT",
        f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i + t)}/base-limit",
        "officer",
        {"limit": eur(("400.00", "2500.00")[(t + k) % 2]), "reason": "race"},
    )


def hold(sc: Scenario, i: int, t: int, k: int) -> None:
    """Thread 0 places a hold on R<i> while thread 1 lifts it (swapped on the other side)."""
    sc.call(
        "hold",
        ("POST", "DELETE")[(t + k) % 2],
        f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i)}/hold",
        "officer",
        {"reason": "race"},
    )


def termination(sc: Scenario, i: int, t: int, k: int) -> None:
    sc.call(
        "termination",
        "POST",
        f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i + t)}/termination",
        "officer",
        {"reason": "race"},
    )


def enrolment(sc: Scenario, i: int, t: int, k: int) -> None:
    """Two resellers for the one place left in s<i>'s budget."""
    sc.call(
        "enrolment",
        "POST",
        f"/v1/vendors/microsoft/programmes/{sc.standing(i)}/enrolments",
        "microsoft",
        {"resellers": [{"reseller_id": sc.reseller(i + 1 + t)}]},
    )


def ends_on(sc: Scenario, i: int, t: int, k: int) -> None:
    sc.call(
        "ends_on",
        "PATCH",
        f"/v1/vendors/microsoft/programmes/{sc.standing(i)}",
        "microsoft",
        {"ends_on": ("2026-07-31", "2026-05-31")[(t + k) % 2]},
    )


def close(sc: Scenario, i: int, t: int, k: int) -> None:
    programme = (sc.standing, sc.triggered)[t](i)
    sc.call("close", "PATCH", f"/v1/vendors/microsoft/programmes/{programme}", "microsoft", {"status": "closed"})


def budget(sc: Scenario, i: int, t: int, k: int) -> None:
    """Lower the budget to what setup granted (s<i>: one line, o<i>: none): a grant racing it
    either lands first (then this is refused) or finds no room."""
    programme, places, amount = ((sc.standing(i), 1, "500.00"), (sc.triggered(i), 0, "0.00"))[t]
    sc.call(
        "budget",
        "PATCH",
        f"/v1/vendors/microsoft/programmes/{programme}",
        "microsoft",
        {"budget": {"max_beneficiaries": places, "max_total_limit": eur(amount)}},
    )


def purchase(sc: Scenario, i: int, t: int, k: int) -> None:
    sc.call(
        "purchase",
        "POST",
        f"/v1/distributors/{sc.d}/purchase-events",
        "integration",
        {
            "event_id": f"E{k}{t}-{i}",
            "reseller_id": sc.reseller(i + t),
            "vendor_id": "microsoft",
            "product_category": f"cat-{i}",
            "amount": eur("150.00"),
            "occurred_at": "2026-03-02T08:00:00+00:00",
        },
    )


def expiry(sc: Scenario, i: int, t: int, k: int) -> None:
    """The nightly job replaying the night that ends R<i>'s `old` line (both threads at once)."""
    as_of = min(OLD_LINES_END + timedelta(days=i + 1), TODAY)
    sc.call("expiry", "POST", "/v1/jobs/expiry", "admin", {"as_of": as_of.isoformat()})


def cover_cut(sc: Scenario, i: int, t: int, k: int) -> None:
    """The insurer cuts R<i+t>'s cover: its base limit (2,000, 1,000 drawn) falls to 300 or 1,500."""
    sc.call(
        "cover_cut",
        "PUT",
        f"/v1/distributors/{sc.d}/resellers/{sc.reseller(i + t)}/insurance",
        "officer",
        {
            "insurer": "Coface",
            "cover": eur(("300.00", "1500.00")[(t + k) % 2]),
            "decided_on": TODAY.isoformat(),
            "reference": f"C{k}{t}-{i}",
        },
    )


def partnership_end(sc: Scenario, i: int, t: int, k: int) -> None:
    sc.call("partnership_end", "DELETE", f"/v1/distributors/{sc.d}/vendors/microsoft", "admin")


Op = Callable[[Scenario, int, int, int], None]
RESELLER, PROGRAMME = "reseller", "programme"
# name → (operation, what it writes under a lock: a reseller's rows, a programme's, or both)
OPERATIONS: dict[str, tuple[Op, frozenset[str]]] = {
    "drawing": (drawing, frozenset({RESELLER})),
    "release": (release, frozenset({RESELLER})),
    "base_limit": (base_limit, frozenset({RESELLER})),
    "hold": (hold, frozenset({RESELLER})),
    "termination": (termination, frozenset({RESELLER, PROGRAMME})),  # revokes lines: frees budget
    "enrolment": (enrolment, frozenset({RESELLER, PROGRAMME})),
    "ends_on": (ends_on, frozenset({RESELLER, PROGRAMME})),  # moves the lines of its resellers
    "close": (close, frozenset({PROGRAMME})),
    "budget": (budget, frozenset({PROGRAMME})),
    "purchase": (purchase, frozenset({RESELLER, PROGRAMME})),
    "expiry": (expiry, frozenset({RESELLER, PROGRAMME})),  # ends lines: frees budget
    "partnership_end": (partnership_end, frozenset({PROGRAMME})),
    "cover_cut": (cover_cut, frozenset({RESELLER})),  # lowers the base limit under the cap policy
}


def pairs() -> list[tuple[str, str]]:
    """Every pair (an operation with itself included) that can meet on a reseller or a programme.

    The pairs with the expiry job come first. The job goes over every distributor of the database
    in id order, and each race adds one: among the last pairs, each call went over up to
    seventy scenarios (170 s of the matrix's 260) and reached the raced rows only after those
    before them. First, it goes over at most fourteen, the same races on a smaller database."""
    names = list(OPERATIONS)
    every = [(a, b) for x, a in enumerate(names) for b in names[x:] if OPERATIONS[a][1] & OPERATIONS[b][1]]
    return sorted(every, key=lambda pair: "expiry" not in pair)  # stable: the rest keep their order


def race(sc: Scenario, a: str, b: str, threads_per_side: int = 2) -> None:
    """Both sides, ``threads_per_side`` threads each, ``sc.rounds`` rounds, a barrier per round."""
    sc.log_offset = os.path.getsize(sc.world.server.log_path)
    workers = [(OPERATIONS[name][0], t, k) for k, name in enumerate((a, b)) for t in range(threads_per_side)]
    barrier = threading.Barrier(len(workers))

    def run(worker) -> None:
        op, t, k = worker
        jitter = random.Random(f"{a}/{b}/{t}/{k}")
        for i in range(sc.rounds):
            barrier.wait(timeout=60)
            time.sleep(jitter.random() * JITTER_S)  # vary which side reaches the database first
            op(sc, i, t, k)

    with ThreadPoolExecutor(len(workers)) as pool:
        list(pool.map(run, workers))

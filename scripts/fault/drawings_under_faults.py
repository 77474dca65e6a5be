#!/usr/bin/env python3
"""Drawings under faults: a steady load of drawings with client retries while PostgreSQL is
restarted, then while one server worker is killed with SIGKILL. Afterwards every drawing the
client saw accepted is in the ledger exactly once, none it saw refused is, `creditlines verify`
exits 0 and the invariants of `tests/invariants.py` hold.

It never touches the shared cluster: it starts a PostgreSQL cluster of its own (initdb in a
temporary directory, a free port; as the `postgres` OS user when run as root), migrates it,
and runs `creditlines serve --workers 2` on it.

    .venv/bin/python -m scripts.fault.drawings_under_faults [--seconds 30] [--threads 8]

Prints the figures and one JSON object; exit 0 when every check holds. The result is in
docs/FAULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from creditlines.db.migrate import upgrade  # noqa: E402
from tests.harness import free_port, serve, verify_cli  # noqa: E402
from tests.invariants import violations  # noqa: E402

PG_BIN = Path(os.environ.get("CREDITLINES_PG_BIN", "/usr/lib/postgresql/15/bin"))
ADMIN = "fault-admin-key-of-at-least-32-characters"
DISTRIBUTOR = "faults"
RETRYABLE = (503,)


# ------------------------------------------------------------------------ a private cluster


class PrivateCluster:
    """A PostgreSQL cluster in a temporary directory, on a free port, for this run only."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="creditlines-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgresql.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:  # initdb and pg_ctl refuse to run as root
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str, timeout: float = 120) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run(prefix + list(args), check=True, capture_output=True, timeout=timeout)

    def start(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._pg_ctl("start")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(
            str(PG_BIN / "pg_ctl"), action, "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, *extra
        )

    def restart(self) -> None:
        """Fast shutdown (every connection cut, open transactions rolled back), then start again."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        try:
            self._pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def server_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"
        upgrade(url)
        return url


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    cluster = PrivateCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


# ------------------------------------------------------------------------ the load


@dataclass
class Outcome:
    reseller: str
    reference: str
    amount: str
    status: int | None = None  # the definitive answer: 201, 200, 409; None: never had one
    code: str | None = None
    attempts: int = 0
    retried_on: list[str] = field(default_factory=list)


class Load:
    """Client threads posting drawings with unique references; a timeout, a connection error or
    a 503 is retried with the same reference and body until a definitive answer (or give-up)."""

    def __init__(
        self,
        base: str,
        key: str,
        resellers: list[str],
        *,
        threads: int,
        give_up_s: float = 90,
        timeout_s: float = 5,
        seed: int = 7,
    ):
        self.base, self.key, self.resellers = base, key, resellers
        self.threads, self.give_up_s, self.timeout_s = threads, give_up_s, timeout_s
        self.outcomes: list[Outcome] = []
        self.unexpected: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._seed = seed

    def start(self, label: str) -> None:
        self._stop.clear()
        self._workers = [
            threading.Thread(
                target=self._run, args=(f"{label}-{n}", random.Random(f"{self._seed}{label}{n}")), daemon=True
            )
            for n in range(self.threads)
        ]
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join()

    def _run(self, name: str, rng: random.Random) -> None:
        with httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.key}"}, timeout=self.timeout_s
        ) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                outcome = Outcome(
                    rng.choice(self.resellers), f"F-{name}-{n}", f"{rng.randint(1, 400)}.{rng.randint(0, 99):02d}"
                )
                self._post(client, outcome)
                with self._lock:
                    self.outcomes.append(outcome)

    def _post(self, client: httpx.Client, o: Outcome) -> None:
        path = f"/v1/distributors/{DISTRIBUTOR}/resellers/{o.reseller}/drawings"
        body = {"reference": o.reference, "amount": {"amount": o.amount, "currency": "EUR"}}
        deadline = time.monotonic() + self.give_up_s
        while time.monotonic() < deadline:
            o.attempts += 1
            try:
                response = client.post(path, json=body)
            except httpx.TransportError as exc:  # timeout, connection refused or reset
                o.retried_on.append(type(exc).__name__)
                time.sleep(0.1 * min(o.attempts, 10))
                continue
            if response.status_code in RETRYABLE:
                o.retried_on.append(str(response.status_code))
                time.sleep(0.1 * min(o.attempts, 10))
                continue
            o.status = response.status_code
            if response.status_code == 409:
                o.code = response.json().get("code")
            elif response.status_code not in (200, 201):
                with self._lock:
                    self.unexpected.append(f"{o.reference}: {response.status_code} {response.text[:200]}")
            elif response.json()["amount"]["amount"] != o.amount:
                with self._lock:
                    self.unexpected.append(f"{o.reference}: answered amount {response.json()['amount']} for {o.amount}")
            return


# ------------------------------------------------------------------------ faults


def worker_pids(serve_pid: int) -> list[int]:
    """The uvicorn workers: children of the serve process started by multiprocessing's spawn."""
    pids = []
    for task in Path(f"/proc/{serve_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            except FileNotFoundError:
                continue
            if b"spawn_main" in cmdline:
                pids.append(int(child))
    return sorted(pids)


def kill_one_worker(serve_pid: int) -> int:
    victim = worker_pids(serve_pid)[0]
    os.kill(victim, signal.SIGKILL)
    return victim


def wait_ready(base: str, timeout_s: float = 60) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base} not ready after {timeout_s} s")


# ------------------------------------------------------------------------ setup and checks


def setup(base: str, resellers: int, limits: tuple[str, ...] = ("50000.00", "1000.00")) -> tuple[str, list[str]]:
    """A distributor, an integration key and resellers whose base limits alternate between
    ``limits``: the small ones refuse drawings early, so refusals happen all along the run."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as c:
        assert c.post(
            "/v1/distributors",
            json={"id": DISTRIBUTOR, "name": "Faults", "currency": "EUR", "timezone": "Europe/Paris"},
        ).status_code in (200, 201)
        officer = c.post("/v1/api-keys", json={"role": "credit_officer", "distributor_id": DISTRIBUTOR}).json()["key"]
        key = c.post("/v1/api-keys", json={"role": "integration", "distributor_id": DISTRIBUTOR}).json()["key"]
        ids = [f"R{n:03d}" for n in range(resellers)]
        officer_h = {"Authorization": f"Bearer {officer}"}
        for r in ids:
            c.put(
                f"/v1/distributors/{DISTRIBUTOR}/resellers/{r}", json={"name": r}, headers=officer_h
            ).raise_for_status()
            c.put(
                f"/v1/distributors/{DISTRIBUTOR}/resellers/{r}/base-limit",
                headers=officer_h,
                json={"limit": {"amount": limits[int(r[1:]) % len(limits)], "currency": "EUR"}, "reason": "opening"},
            ).raise_for_status()
    return key, ids


def check(database_url: str, outcomes: list[Outcome]) -> dict:
    """What the client saw against what the database holds."""
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT reseller_id, reference, amount_minor FROM drawing WHERE distributor_id = %s", (DISTRIBUTOR,)
        ).fetchall()
        entries = dict(
            conn.execute(
                "SELECT drawing_reference, count(*) FROM ledger_entry"
                " WHERE distributor_id = %s AND kind = 'drawing_posted' GROUP BY drawing_reference",
                (DISTRIBUTOR,),
            ).fetchall()
        )
    stored = Counter(ref for _, ref, _ in rows)
    amounts = {ref: minor for _, ref, minor in rows}
    problems = []
    accepted = [o for o in outcomes if o.status in (200, 201)]
    refused = [o for o in outcomes if o.status == 409]
    unresolved = [o for o in outcomes if o.status is None]
    for o in accepted:
        if stored[o.reference] != 1 or entries.get(o.reference) != 1:
            problems.append(
                f"accepted {o.reference}: {stored[o.reference]} drawing rows, "
                f"{entries.get(o.reference, 0)} drawing_posted entries"
            )
        elif amounts[o.reference] != int(o.amount.replace(".", "")):
            problems.append(f"accepted {o.reference}: stored {amounts[o.reference]} minor units for {o.amount}")
    for o in refused:
        if stored[o.reference]:
            problems.append(f"refused {o.reference} ({o.code}) is in the ledger")
    known = {o.reference for o in outcomes}
    problems += [f"{ref} is stored but was never sent" for ref in stored if ref not in known]
    return {
        "drawings_sent": len(outcomes),
        "accepted": len(accepted),
        "accepted_as_replay_after_retry": sum(1 for o in accepted if o.status == 200),
        "refused": len(refused),
        "refused_codes": dict(Counter(o.code for o in refused)),
        "unresolved": len(unresolved),
        "unresolved_stored": sum(1 for o in unresolved if stored[o.reference]),
        "retried": sum(1 for o in outcomes if o.retried_on),
        "retry_causes": dict(Counter(cause for o in outcomes for cause in o.retried_on)),
        "max_attempts": max((o.attempts for o in outcomes), default=0),
        "rows_in_database": len(rows),
        "problems": problems,
    }


def phase(load: Load, label: str, seconds: float, fault) -> dict:
    """Load for ``seconds``; the fault at half-time. Returns what the fault reported."""
    load.start(label)
    time.sleep(seconds / 2)
    started = time.monotonic()
    report = fault()
    report["fault_s"] = round(time.monotonic() - started, 2)
    time.sleep(seconds / 2)
    load.stop()
    return report


def run(base_seconds: float, threads: int, resellers: int) -> dict:
    result: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": " ".join([Path(sys.executable).name, "-m", "scripts.fault.drawings_under_faults"] + sys.argv[1:]),
        "threads": threads,
        "resellers": resellers,
        "seconds_per_phase": base_seconds,
    }
    with private_cluster() as cluster:
        url = cluster.create_database("creditlines")
        with serve(url, admin_key=ADMIN, now=None, workers=2) as server:
            key, ids = setup(server.base, resellers)
            load = Load(server.base, key, ids, threads=threads)

            def restart_pg() -> dict:
                cluster.restart()
                return {"fault": "pg_ctl restart -m fast (private cluster)"}

            def kill_worker() -> dict:
                before = worker_pids(server.process.pid)
                victim = kill_one_worker(server.process.pid)
                return {"fault": "kill -9 of one uvicorn worker", "workers_before": len(before), "killed": victim}

            result["phase_restart"] = phase(load, "restart", base_seconds, restart_pg)
            result["phase_restart"]["ready_after_s"] = round(wait_ready(server.base), 2)
            result["phase_kill"] = phase(load, "kill", base_seconds, kill_worker)
            result["phase_kill"]["workers_after"] = len(worker_pids(server.process.pid))
            result["unexpected_answers"] = load.unexpected
            result["check"] = check(url, load.outcomes)
            verified = verify_cli(url)
            result["verify_exit"] = verified.returncode
            result["verify_output"] = (verified.stdout + verified.stderr).strip()[-500:]
            result["invariants"] = violations(url, now=datetime.now(UTC))
    result["ok"] = (
        not result["check"]["problems"]
        and not result["unexpected_answers"]
        and result["verify_exit"] == 0
        and not result["invariants"]
        and result["check"]["unresolved"] == 0
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="load per phase (the fault at half-time)")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--resellers", type=int, default=20)
    args = parser.parse_args()
    result = run(args.seconds, args.threads, args.resellers)
    c = result["check"]
    print(
        f"sent {c['drawings_sent']} drawings: {c['accepted']} accepted "
        f"({c['accepted_as_replay_after_retry']} answered as a replay after a retry), {c['refused']} refused, "
        f"{c['unresolved']} without a definitive answer; {c['retried']} retried ({c['retry_causes']})"
    )
    print(f"restart: {result['phase_restart']}; kill: {result['phase_kill']}")
    print(
        f"problems: {c['problems'] or 'none'}; unexpected answers: {result['unexpected_answers'] or 'none'}; "
        f"verify exit {result['verify_exit']}; invariants: {result['invariants'] or 'all hold'}"
    )
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

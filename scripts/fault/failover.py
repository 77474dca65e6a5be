#!/usr/bin/env python3
"""The failover proof (SPEC §22): a pg_auto_failover formation on local ports (the monitor, a
primary and its synchronous standby), `creditlines serve` on the multi-host URL, several clients
posting drawings and retrying them by reference; the primary's machine killed with SIGKILL
mid-run; the monitor promotes the standby. Afterwards every drawing answered 201 or 200 is in the
new primary's ledger exactly once, none refused is, `creditlines verify` exits 0 and the
invariants of tests/invariants.py hold.

    .venv/bin/python -m scripts.fault.failover            # the full run (docs/FAULTS.md)
    .venv/bin/python -m scripts.fault.failover --short    # the CI's (.ci/run), a few minutes at most

Everything (formation, data, server) is created by the script in a temporary directory on free
ports and removed at the end, whatever happened. Needs `pg_autoctl` (Debian:
postgresql-15-auto-failover, pg-auto-failover-cli) and PostgreSQL 15. Prints the figures and one
JSON object: requests by status, seconds without a primary, acknowledged drawings missing (must
be 0) and doubled (0); exit 0 when every check holds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.fault.drawings_under_faults import ADMIN, RETRYABLE, Load, Outcome, check, setup  # noqa: E402
from scripts.fault.formation import Formation, formation  # noqa: E402
from tests.harness import free_port, serve, verify_cli  # noqa: E402
from tests.invariants import violations  # noqa: E402

REQUEST_TIMEOUT_S = 15.0  # the clients' timeout: no answer may take longer (the pools give up at 10 s)


class CountingLoad(Load):
    """The drawings of drawings_under_faults, every attempt's answer counted, with its duration."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: Counter[str] = Counter()
        self.longest_s = 0.0
        self.first_accepted_after: float | None = None
        self.killed_at: float | None = None

    def _post(self, client: httpx.Client, o: Outcome) -> None:
        path = f"/v1/distributors/faults/resellers/{o.reseller}/drawings"
        body = {"reference": o.reference, "amount": {"amount": o.amount, "currency": "EUR"}}
        deadline = time.monotonic() + self.give_up_s
        while time.monotonic() < deadline:
            o.attempts += 1
            started = time.monotonic()
            try:
                response = client.post(path, json=body)
            except httpx.TransportError as exc:
                self._count(type(exc).__name__, started)
                o.retried_on.append(type(exc).__name__)
                time.sleep(0.1 * min(o.attempts, 10))
                continue
            self._count(str(response.status_code), started)
            if response.status_code in RETRYABLE:
                if response.headers.get("retry-after") is None:
                    with self._lock:
                        self.unexpected.append(f"{o.reference}: 503 without Retry-After")
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
                    self.unexpected.append(f"{o.reference}: answered {response.json()['amount']} for {o.amount}")
            if response.status_code in (200, 201) and self.killed_at is not None:
                with self._lock:
                    if self.first_accepted_after is None and started > self.killed_at:
                        self.first_accepted_after = time.monotonic() - self.killed_at
            return

    def _count(self, what: str, started: float) -> None:
        with self._lock:
            self.answers[what] += 1
            self.longest_s = max(self.longest_s, time.monotonic() - started)


def wait_for_primary(f: Formation, since: float, timeout_s: float) -> float:
    """Seconds from ``since`` until a write commits on whichever node accepts writes."""
    deadline = since + timeout_s
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(f.primary_url(), autocommit=True) as conn:
                conn.execute("SELECT txid_current()")
                return time.monotonic() - since
        except psycopg.Error:
            time.sleep(0.2)
    raise RuntimeError(f"no primary {timeout_s:.0f} s after the kill: {f.states()}")


def run(short: bool) -> dict[str, Any]:
    before_s, after_s, threads = (8.0, 8.0, 4) if short else (30.0, 30.0, 8)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": " ".join([Path(sys.executable).name, "-m", "scripts.fault.failover", *sys.argv[1:]]),
        "mode": "short (fast failure detection)" if short else "full (pg_auto_failover's default detection)",
        "threads": threads,
        "load_before_kill_s": before_s,
        "load_after_recovery_s": after_s,
    }
    started = time.monotonic()
    ports = (free_port(), free_port(), free_port())
    with formation(ports, fast_detection=short) as f:
        result["formation_ready_s"] = round(time.monotonic() - started, 1)
        commit, names, sync_states = f.synchronous("node1")
        result["before"] = {"synchronous_commit": commit, "synchronous_standby_names": names, "standbys": sync_states}
        if commit != "on" or not names or not any(s in ("sync", "quorum") for s in sync_states):
            raise RuntimeError(f"node1 has no synchronous standby: {result['before']}")
        url = f.service_url()
        with serve(url, admin_key=ADMIN, now=None, workers=2, startup_timeout=120) as server:
            key, resellers = setup(server.base, 20)
            load = CountingLoad(server.base, key, resellers, threads=threads, timeout_s=REQUEST_TIMEOUT_S)
            load.start("ha")
            time.sleep(before_s)
            f.kill("node1")
            killed_at = time.monotonic()
            load.killed_at = killed_at
            result["killed"] = "node1 (primary): SIGKILL to its pg_autoctl keeper, its Postgres and every backend"
            result["seconds_without_primary"] = round(wait_for_primary(f, killed_at, 180), 1)
            result["states_after"] = {k: list(v) for k, v in f.states().items()}
            time.sleep(after_s)
            load.stop()
            result["seconds_until_service_accepted_again"] = (
                round(load.first_accepted_after, 1) if load.first_accepted_after is not None else None
            )
            result["requests_by_status"] = dict(sorted(load.answers.items()))
            result["longest_request_s"] = round(load.longest_s, 2)
            result["unexpected_answers"] = load.unexpected
        primary = f.primary_url()
        with psycopg.connect(primary, autocommit=True) as conn:
            port = conn.execute("SELECT inet_server_port()").fetchone()
        result["new_primary"] = f"127.0.0.1:{port[0] if port else '?'}"
        c = check(primary, load.outcomes)
        accepted = [o for o in load.outcomes if o.status in (200, 201)]
        stored = _stored_counts(primary)
        result["drawings"] = {
            "sent": c["drawings_sent"],
            "acknowledged": len(accepted),
            "acknowledged_missing": sum(1 for o in accepted if stored.get(o.reference, 0) == 0),
            "acknowledged_doubled": sum(1 for o in accepted if stored.get(o.reference, 0) > 1),
            "refused": c["refused"],
            "without_answer": c["unresolved"],
            "retried": c["retried"],
        }
        result["problems"] = c["problems"]
        verified = verify_cli(url)
        result["verify_exit"] = verified.returncode
        result["verify_output"] = (verified.stdout + verified.stderr).strip()[-300:]
        result["invariants"] = violations(primary, now=datetime.now(UTC))
    result["total_s"] = round(time.monotonic() - started, 1)
    other_5xx = {k: v for k, v in result["requests_by_status"].items() if k.startswith("5") and k != "503"}
    result["other_5xx"] = other_5xx
    result["ok"] = (
        result["drawings"]["acknowledged_missing"] == 0
        and result["drawings"]["acknowledged_doubled"] == 0
        and result["drawings"]["without_answer"] == 0
        and not result["problems"]
        and not result["unexpected_answers"]
        and not other_5xx
        and result["verify_exit"] == 0
        and not result["invariants"]
        and result["longest_request_s"] < REQUEST_TIMEOUT_S
    )
    return result


def _stored_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT drawing_reference, count(*) FROM ledger_entry"
            " WHERE distributor_id = 'faults' AND kind = 'drawing_posted' GROUP BY drawing_reference"
        ).fetchall()
    return {str(ref): int(n) for ref, n in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="the CI's run: fast failure detection, 4 clients")
    args = parser.parse_args()

    def terminated(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # the formation and the server are removed on the way out

    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGHUP, terminated)
    watchdog = threading.Timer(480 if args.short else 900, lambda: os.kill(os.getpid(), signal.SIGTERM))
    watchdog.daemon = True
    watchdog.start()
    result = run(args.short)
    watchdog.cancel()
    d = result["drawings"]
    print(
        f"{result['mode']}: {d['sent']} drawings sent, {d['acknowledged']} acknowledged, {d['refused']} refused; "
        f"primary killed, a primary again after {result['seconds_without_primary']} s, the service accepting "
        f"again after {result['seconds_until_service_accepted_again']} s; answers {result['requests_by_status']}; "
        f"acknowledged missing {d['acknowledged_missing']}, doubled {d['acknowledged_doubled']}; "
        f"verify exit {result['verify_exit']}; invariants {result['invariants'] or 'all hold'}"
    )
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

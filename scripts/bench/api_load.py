#!/usr/bin/env python3
"""HTTP benchmarks of issue 6, each figure next to a minimal baseline measured in the same run.

Needs `wrk` (Debian: apt-get install wrk) and the bench extra
(.venv/bin/pip install --require-hashes -r requirements/bench.txt).
Load comes from wrk, a separate process on loopback, bounded by --duration.

    .venv/bin/python scripts/bench/api_load.py [--duration 10] [--connections 16] [--repeat 3] [--only …]

Each measurement runs --repeat times (baseline and creditlines alternately) and the medians
are reported, with every run kept in the JSON: on a 2-core machine shared by the load
generator, the servers and PostgreSQL, single runs move by ±20 %.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from moneyed import Money

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SERVER = os.environ.get("CREDITLINES_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
RESELLERS = 1000
SCENARIOS = ("eligibility", "drawings", "hot", "history", "sqlite")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(url: str) -> str:
    from creditlines import ledger
    from creditlines.auth import service as auth
    from creditlines.db.engine import UnitOfWork, make_engine
    from creditlines.db.migrate import upgrade
    from creditlines.tenants import service as tenants

    upgrade(url)
    uow = UnitOfWork(make_engine(url))
    with uow.write() as s:
        tenants.create_distributor(s, id="bench", name="Bench", currency="EUR", timezone="Europe/Paris")
        rows = [(f"R-{i:06d}", f"Reseller {i}", Money("1000000000.00", "EUR")) for i in range(1, RESELLERS + 1)]
        rows.append(("R-000000", "Hot reseller", Money("1000000.00", "EUR")))
        ledger.import_resellers(s, distributor_id="bench", rows=rows, actor="bench")
        key = auth.create_key(s, role="integration", distributor_id="bench")[1]
    uow.dispose()
    return key


def start(cmd: list[str], env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return proc
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise SystemExit(proc.stderr.read().decode()[-3000:]) from None
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"{cmd} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(port: int, script: str, *, duration: int, connections: int, env: dict | None = None) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(HERE / script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        lat[f"p{pct}_ms"] = round(float(value) * UNITS[unit], 2)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": round(rps),
        **lat,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else None,
    }


def median_run(runs: list[dict]) -> dict:
    """Each figure's median over the runs (throughput and each percentile separately)."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0] if key.startswith(("rps", "p"))} | {
        "non_2xx": sum(run["non_2xx"] for run in runs)
    }


def ledger_entries(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM ledger_entry").fetchone()[0]


def hot_line(url: str) -> tuple[int, int]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(
            "SELECT limit_minor, drawn_minor FROM line WHERE distributor_id = 'bench' "
            "AND reseller_id = 'R-000000' AND kind = 'base'"
        ).fetchone()


def last_euros(url: str, port: int, load: dict, *, connections: int) -> dict:
    """No overdraw on the hot reseller: cut its limit to what is drawn + EUR 100.00, send 3 s of
    EUR 1.00 drawings from every connection, and count: exactly 100 must be accepted."""
    from creditlines import ledger
    from creditlines.db.engine import UnitOfWork, make_engine
    from creditlines.money import from_minor

    _, drawn_before = hot_line(url)
    uow = UnitOfWork(make_engine(url))
    with uow.write() as s:
        ledger.set_base_limit(
            s,
            distributor_id="bench",
            reseller_id="R-000000",
            limit=from_minor(drawn_before + 10_000, "EUR"),
            reason="bench: last euros",
            actor="bench",
        )
    uow.dispose()
    run = wrk(port, "drawings.lua", duration=3, connections=connections, env={**load, "HOT": "1"})
    limit, drawn = hot_line(url)
    return {
        "limit_minor": limit,
        "drawn_before_minor": drawn_before,
        "drawn_after_minor": drawn,
        "accepted": (drawn - drawn_before) // 100,
        "refused": run["non_2xx"],
        "overdrawn": drawn > limit,
    }


def add_history(dsn: str, entries_per_reseller: int) -> int:
    """Pile up ledger entries (renames: no effect on balances) so history is large."""
    with psycopg.connect(dsn) as c:  # one transaction, resellers locked: in-flight requests finish first
        c.execute("LOCK TABLE reseller IN EXCLUSIVE MODE")
        c.execute(
            """INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, details)
                     SELECT 'bench', r.id, r.ledger_seq + g, now(), 'bench', 'reseller_renamed', '{}'
                     FROM reseller r, generate_series(1, %s) g""",
            (entries_per_reseller,),
        )
        c.execute("UPDATE reseller SET ledger_seq = ledger_seq + %s", (entries_per_reseller,))
        c.commit()
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("VACUUM ANALYZE")
        c.execute("CHECKPOINT")  # the millions of rows on disk before the measurement, not during it
        return c.execute("SELECT count(*) FROM ledger_entry").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; medians are reported")
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)} (all by default)"
    )
    parser.add_argument(
        "--history-per-reseller",
        type=int,
        default=10_000,
        help="ledger entries added per reseller for the history scenario (10,000: ~10 million)",
    )
    opts = parser.parse_args()
    only = set(opts.only.split(","))
    if not only <= set(SCENARIOS):
        raise SystemExit(f"--only takes {', '.join(SCENARIOS)}")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    d, c, w = opts.duration, opts.connections, opts.workers
    name = f"creditlines_bench_http_{os.getpid()}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = f"{SERVER.rsplit('/', 1)[0]}/{name}"
    url = dsn.replace("postgresql://", "postgresql+psycopg://")
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()}, {os.cpu_count()} cores, CPython {platform.python_version()}",
        "command": " ".join(["scripts/bench/api_load.py", *sys.argv[1:]]),
        "connections": c,
        "workers": w,
        "duration_s": d,
    }
    procs = []
    try:
        key = seed(url)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # statistics, as autovacuum would have them in production
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}_baseline" TEMPLATE "{name}"')
            if "history" in only:  # two more copies: as seeded, and with millions of ledger entries more
                conn.execute(f'CREATE DATABASE "{name}_small" TEMPLATE "{name}"')
                conn.execute(f'CREATE DATABASE "{name}_history" TEMPLATE "{name}"')
        if "history" in only:
            results["ledger_entries_small"] = ledger_entries(f"{dsn}_small")
            results["ledger_entries_history"] = add_history(f"{dsn}_history", opts.history_per_reseller)
        env = {**os.environ, "CREDITLINES_DATABASE_URL": url, "CREDITLINES_LOG_LEVEL": "WARNING"}
        cl_port, base_port = free_port(), free_port()
        procs.append(
            start(
                [
                    sys.executable,
                    "-m",
                    "creditlines",
                    "serve",
                    "--port",
                    str(cl_port),
                    "--workers",
                    str(w),
                    "--no-migrate",
                ],
                env,
                cl_port,
            )
        )
        procs.append(
            start(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "scripts.bench.baseline_app:app",
                    "--port",
                    str(base_port),
                    "--workers",
                    str(w),
                    "--log-level",
                    "warning",
                ],
                {**os.environ, "BASELINE_DSN": f"{dsn}_baseline"},
                base_port,
            )
        )
        load = {"KEY": key, "RESELLERS": str(RESELLERS)}
        hot = {**load, "HOT": "1"}
        for port in (cl_port, base_port):  # warm-up: pools, prepared statements, key caches
            for script in ("eligibility.lua", "drawings.lua"):
                wrk(port, script, duration=2, connections=c, env=load)

        def pairs(script: str, env: dict = load) -> dict:
            """Baseline and creditlines, alternately, --repeat times: the median of each, and of the ratios."""
            runs = [
                (
                    wrk(base_port, script, duration=d, connections=c, env=env),
                    wrk(cl_port, script, duration=d, connections=c, env=env),
                )
                for _ in range(opts.repeat)
            ]
            return {
                "baseline": median_run([b for b, _ in runs]),
                "creditlines": median_run([o for _, o in runs]),
                "ratio_median": round(statistics.median(o["rps"] / b["rps"] for b, o in runs), 2),
                "runs": [{"baseline": b, "creditlines": o} for b, o in runs],
            }

        def alone(port: int, script: str, env: dict) -> dict:
            runs = [wrk(port, script, duration=d, connections=c, env=env) for _ in range(opts.repeat)]
            return {**median_run(runs), "runs": runs}

        if "eligibility" in only:
            results["eligibility"] = pairs("eligibility.lua")
        if "drawings" in only:
            results["drawings"] = pairs("drawings.lua")
        if "hot" in only:
            results["drawings_hot_reseller"] = pairs("drawings.lua", hot)
            results["hot_reseller_last_euros"] = last_euros(url, cl_port, load, connections=c)
        if "history" in only:
            # Two servers, identical but for the history, measured alternately: drift on the machine
            # (autovacuum, writeback, the other runs) falls on both.
            ports = {}
            for copy in ("small", "history"):
                ports[copy] = free_port()
                procs.append(
                    start(
                        [
                            sys.executable,
                            "-m",
                            "creditlines",
                            "serve",
                            "--port",
                            str(ports[copy]),
                            "--workers",
                            str(w),
                            "--no-migrate",
                        ],
                        {**env, "CREDITLINES_DATABASE_URL": f"{url}_{copy}"},
                        ports[copy],
                    )
                )
                wrk(ports[copy], "eligibility.lua", duration=2, connections=c, env=load)
            runs = [
                (
                    wrk(ports["small"], "eligibility.lua", duration=d, connections=c, env=load),
                    wrk(ports["history"], "eligibility.lua", duration=d, connections=c, env=load),
                )
                for _ in range(opts.repeat)
            ]
            small, history = median_run([a for a, _ in runs]), median_run([b for _, b in runs])
            results["history"] = {
                "ledger_entries_before": results["ledger_entries_small"],
                "ledger_entries_after": results["ledger_entries_history"],
                "before": small,
                "after": history,
                "p50_ratio": round(history["p50_ms"] / small["p50_ms"], 2),
                "p99_ratio": round(history["p99_ms"] / small["p99_ms"], 2),
                "runs": [{"small": a, "history": b} for a, b in runs],
            }
        for proc in procs:
            stop(proc)
        procs.clear()
        verify = subprocess.run(
            [sys.executable, "-m", "creditlines", "verify"], env=env, capture_output=True, text=True
        )
        results["verify_exit"] = verify.returncode
        results["verify_output"] = (verify.stdout + verify.stderr)[-1500:]

        if "sqlite" in only:
            with tempfile.TemporaryDirectory() as tmp:
                sqlite_url = f"sqlite:///{tmp}/bench.db"
                sqlite_key = seed(sqlite_url)
                port = free_port()
                procs.append(
                    start(
                        [
                            sys.executable,
                            "-m",
                            "creditlines",
                            "serve",
                            "--port",
                            str(port),
                            "--workers",
                            "1",
                            "--no-migrate",
                        ],
                        {**env, "CREDITLINES_DATABASE_URL": sqlite_url},
                        port,
                    )
                )
                sqlite_load = {"KEY": sqlite_key, "RESELLERS": str(RESELLERS)}
                wrk(port, "eligibility.lua", duration=2, connections=c, env=sqlite_load)
                results["eligibility_sqlite_1_worker"] = alone(port, "eligibility.lua", sqlite_load)
                stop(procs.pop())
    finally:
        for proc in procs:
            stop(proc)
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for suffix in ("_baseline", "_small", "_history"):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}{suffix}" WITH (FORCE)')
    summary = results["summary"] = {}
    for name in ("eligibility", "drawings"):
        if name in results:
            summary[name] = {
                "rps": results[name]["creditlines"]["rps"],
                "p99_ms": results[name]["creditlines"]["p99_ms"],
                "baseline_rps": results[name]["baseline"]["rps"],
                "ratio_to_baseline": results[name]["ratio_median"],
            }
    if "drawings_hot_reseller" in results:
        summary["hot_reseller"] = {
            "rps": results["drawings_hot_reseller"]["creditlines"]["rps"],
            "p99_ms": results["drawings_hot_reseller"]["creditlines"]["p99_ms"],
            "baseline_rps": results["drawings_hot_reseller"]["baseline"]["rps"],
            "ratio_to_baseline": results["drawings_hot_reseller"]["ratio_median"],
            "overdrawn": results["hot_reseller_last_euros"]["overdrawn"],
            "last_euros_accepted": results["hot_reseller_last_euros"]["accepted"],
        }
    if "history" in results:
        summary["history"] = {k: results["history"][k] for k in ("p50_ratio", "p99_ratio", "ledger_entries_after")}
    if "eligibility_sqlite_1_worker" in results:
        summary["sqlite_1_worker_rps"] = results["eligibility_sqlite_1_worker"]["rps"]
        if "eligibility" in results:  # there is no SQLite baseline: against the PostgreSQL one, 2 workers
            summary["sqlite_1_worker_vs_postgresql_baseline"] = round(
                results["eligibility_sqlite_1_worker"]["rps"] / results["eligibility"]["baseline"]["rps"], 2
            )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

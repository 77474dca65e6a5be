#!/usr/bin/env python3
"""The whole budget table of the third speed round, in one command, at the end of a change.

Runs, one after the other on a quiet machine (nothing else should run meanwhile):

1. ``api_load.py --repeat 3`` (every scenario: eligibility and drawings against the bare
   FastAPI + asyncpg baseline, one hot reseller and its last euros, eligibility with ~10 million
   ledger entries against ~3,000, SQLite with one worker);
2. ``expiry.py`` (1,000,000 lines, 100,000 expiring, with their ``line.expired`` events);
3. ``demo_load.py`` (the demo's default size on SQLite, as ``scripts/serve`` loads it).

Writes every script's JSON under ``bench-results/`` (not committed) and prints the table as
Markdown, each figure next to its budget, for docs/BENCHMARKS.md.

    .venv/bin/python scripts/bench/budgets.py [--duration 10] [--repeat 3] [--skip api,expiry,demo]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "bench-results"


def run(script: str, *args: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{script} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    OUT.mkdir(exist_ok=True)
    (OUT / f"{Path(script).stem}-{stamp}.json").write_text(done.stdout)
    print(f"{script} done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return result


def ratios(scenario: dict) -> str:
    return ", ".join(f"{r['creditlines']['rps'] / r['baseline']['rps']:.2f}" for r in scenario.get("runs", []))


def yes(ok: bool) -> str:
    return "**yes**" if ok else "**no**"


def table(api: dict | None, expiry: dict | None, demo: dict | None) -> str:
    rows = ["| measure | budget | measured | met? |", "|---|---|---|---|"]
    if api:
        s = api["summary"]
        runs = ratios(api["eligibility"])
        e = s["eligibility"]
        rows.append(
            f"| eligibility / baseline (overdue check included) | ≥ 0.80 ×, p99 ≤ 20 ms | "
            f"{e['ratio_to_baseline']} × ({e['rps']:,} vs {e['baseline_rps']:,} req/s; runs {runs}), "
            f"p99 {e['p99_ms']} ms | {yes(e['ratio_to_baseline'] >= 0.80 and e['p99_ms'] <= 20)} |"
        )
        dr = s["drawings"]
        runs = ratios(api["drawings"])
        rows.append(
            f"| drawings spread / baseline (outbox, held-order support, due dates) | ≥ 0.65 ×, p99 ≤ 40 ms | "
            f"{dr['ratio_to_baseline']} × ({dr['rps']:,} vs {dr['baseline_rps']:,} req/s; runs {runs}), "
            f"p99 {dr['p99_ms']} ms | {yes(dr['ratio_to_baseline'] >= 0.65 and dr['p99_ms'] <= 40)} |"
        )
        h = s["hot_reseller"]
        rows.append(
            f"| one hot reseller | ≥ 1,500 drawings/s, no overdraw in the last-euros phase | {h['rps']:,}/s, "
            f"p99 {h['p99_ms']} ms; last euros: {h['last_euros_accepted']} × EUR 1.00 accepted, "
            f"overdrawn: {h['overdrawn']} | {yes(h['rps'] >= 1500 and not h['overdrawn'])} |"
        )
        hi = s["history"]
        rows.append(
            f"| eligibility, {hi['ledger_entries_after']:,} vs {api['ledger_entries_small']:,} ledger "
            f"entries | ≤ 1.1 × | p50 {hi['p50_ratio']} ×, p99 {hi['p99_ratio']} × | "
            f"{yes(hi['p50_ratio'] <= 1.1)} |"
        )
        rows.append(
            f"| SQLite eligibility, 1 worker | ≥ 2,000 req/s | {s['sqlite_1_worker_rps']:,} req/s | "
            f"{yes(s['sqlite_1_worker_rps'] >= 2000)} |"
        )
    if expiry:
        rows.append(
            f"| expiry, {expiry['lines']:,} lines, {expiry['expiring']:,} expiring (with `line.expired` "
            f"events) | ≤ 20 s, ≤ 200 MB | {expiry['first_run_s']} s, {expiry['first_run_peak_rss_mb']} MB "
            f"(second run {expiry['second_run_s']} s; verify exit {expiry['verify_exit']}) | "
            f"{yes(expiry['first_run_s'] <= 20 and expiry['first_run_peak_rss_mb'] <= 200)} |"
        )
    if demo:
        rows.append(
            f"| demo default (SQLite) | ≤ 30 s | {demo['load_seconds']} s, {demo['peak_rss_mb']} MB, "
            f"{demo['ledger_entries']:,} ledger entries (verify exit {demo['verify_exit']}) | "
            f"{yes(demo['load_seconds'] <= 30)} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", default="10")
    parser.add_argument("--repeat", default="3")
    parser.add_argument("--skip", default="", help="comma-separated: api, expiry, demo")
    opts = parser.parse_args()
    skip = set(filter(None, opts.skip.split(",")))
    started = datetime.now(UTC).isoformat(timespec="seconds")
    api = None if "api" in skip else run("api_load.py", "--duration", opts.duration, "--repeat", opts.repeat)
    expiry = None if "expiry" in skip else run("expiry.py")
    demo = None if "demo" in skip else run("demo_load.py")
    print(f"Run started {started}, machine {(api or expiry or demo or {}).get('machine', '?')}\n")
    print(table(api, expiry, demo))


if __name__ == "__main__":
    main()

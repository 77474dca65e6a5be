"""The fault script's small version: drawings with client retries while one server worker is
killed with SIGKILL (on the shared cluster, which is never restarted here; the PostgreSQL restart
runs in `scripts/fault/drawings_under_faults.py` on a private cluster)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from scripts.fault.drawings_under_faults import ADMIN, Load, check, kill_one_worker, setup, worker_pids
from tests.harness import app_url, pg_database, serve, verify_cli
from tests.invariants import violations


@pytest.mark.slow
def test_drawings_survive_a_worker_killed_mid_run(pg_url):
    with pg_database("creditlines_fault") as url, serve(app_url(url), admin_key=ADMIN, now=None, workers=2) as server:
        key, resellers = setup(server.base, resellers=6)
        load = Load(server.base, key, resellers, threads=4)
        load.start("kill")
        time.sleep(2)
        before = worker_pids(server.process.pid)
        victim = kill_one_worker(server.process.pid)
        time.sleep(3)
        load.stop()
        assert len(before) == 2 and victim in before

        seen = check(url, load.outcomes)
        assert seen["problems"] == [] and load.unexpected == [], (seen["problems"], load.unexpected)
        assert seen["unresolved"] == 0, seen
        assert seen["accepted"] > 0 and seen["refused"] > 0, seen  # both kinds were under test
        assert verify_cli(url).returncode == 0
        assert violations(url, now=datetime.now(UTC)) == []

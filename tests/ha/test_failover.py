"""The failover proof's short run (scripts/fault/failover.py --short, SPEC §22): a pg_auto_failover
formation on local ports, the primary killed with SIGKILL under a load of drawings; no acknowledged
drawing lost or doubled, `creditlines verify` exits 0. It needs `pg_autoctl` (Debian:
postgresql-15-auto-failover, pg-auto-failover-cli), which .ci/run installs: mandatory under
CI=true, skipped elsewhere when it is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_primary_dies_mid_run_and_no_acknowledged_drawing_is_lost() -> None:
    if shutil.which("pg_autoctl") is None:
        message = "pg_autoctl is not installed (apt-get install postgresql-15-auto-failover pg-auto-failover-cli)"
        if IN_CI:
            pytest.fail(message + " — it is mandatory under CI=true", pytrace=False)
        pytest.skip(message)
    run = subprocess.run(
        [sys.executable, "-m", "scripts.fault.failover", "--short"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = run.stdout.strip().splitlines()
    assert lines, run.stderr[-3000:]
    summary = json.loads(lines[-1])
    print(lines[-2] if len(lines) > 1 else "")
    assert summary["before"]["synchronous_commit"] == "on" and summary["before"]["standbys"], summary["before"]
    drawings = summary["drawings"]
    assert drawings["acknowledged"] > 0 and drawings["refused"] > 0, drawings  # both kinds under test
    assert drawings["acknowledged_missing"] == 0 and drawings["acknowledged_doubled"] == 0, drawings
    assert drawings["without_answer"] == 0, drawings
    assert summary["other_5xx"] == {} and summary["unexpected_answers"] == [], summary
    assert summary["verify_exit"] == 0 and summary["invariants"] == [], summary
    assert summary["new_primary"] != "", summary
    assert run.returncode == 0 and summary["ok"], run.stderr[-3000:]

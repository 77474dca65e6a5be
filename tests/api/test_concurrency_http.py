"""Races through a real server (`creditlines serve`, 2 workers) on PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

ADMIN = "race-admin-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(pg_only_engine):
    port = _free_port()
    env = {**os.environ, "CREDITLINES_DATABASE_URL": pg_only_engine.url.render_as_string(hide_password=False),
           "CREDITLINES_ADMIN_KEY": ADMIN, "CREDITLINES_NOW": "2026-03-02T09:00:00+00:00",
           "CREDITLINES_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "creditlines", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"server did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _setup(base: str) -> str:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=base, headers=admin, timeout=10) as c:
        assert c.post("/v1/distributors", json={"id": "actebis", "name": "Actebis", "currency": "EUR",
                                                 "timezone": "Europe/Paris"}).status_code == 201
        key = c.post("/v1/api-keys", json={"role": "integration", "distributor_id": "actebis"}).json()["key"]
        created = c.put("/v1/distributors/actebis/resellers/R-HOT", json={"name": "Hot"})
        assert created.status_code == 201, created.text
        c.put("/v1/distributors/actebis/resellers/R-HOT/base-limit",
              json={"limit": {"amount": "5000.00", "currency": "EUR"}, "reason": "open"})
    return key


def _race(n, fn):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


@pytest.mark.slow
def test_racing_orders_through_http_never_overdraw_and_duplicates_post_once(server, verify_cli):
    key = _setup(server)
    path = "/v1/distributors/actebis/resellers/R-HOT/drawings"
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      limits=httpx.Limits(max_connections=64)) as c:
        codes = _race(32, lambda i: c.post(path, json={"reference": f"SO-{i}", "amount": {"amount": "300.00", "currency": "EUR"}}).status_code)
        assert codes.count(201) == 16 and codes.count(409) == 16  # 16 × 300 = 4,800 ≤ 5,000 < 17 × 300

        dupes = _race(16, lambda i: c.post(path, json={"reference": "SO-DUP", "amount": {"amount": "150.00", "currency": "EUR"}}))
        assert sorted(r.status_code for r in dupes) == [200] * 15 + [201]
        assert len({r.text for r in dupes}) == 1

        drawings = c.get(path, params={"limit": 500}).json()["items"]
    assert sum(Decimal(d["amount"]["amount"]) for d in drawings) == Decimal("4950.00")
    checked = verify_cli()
    assert checked.returncode == 0, checked.stderr


@pytest.fixture
def verify_cli(pg_only_engine):
    def run():
        env = {**os.environ, "CREDITLINES_DATABASE_URL": pg_only_engine.url.render_as_string(hide_password=False)}
        return subprocess.run([sys.executable, "-m", "creditlines", "verify"], capture_output=True, text=True, env=env)
    return run

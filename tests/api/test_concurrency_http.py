"""Races through a real server (`creditlines serve`, 2 workers) on PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest

from tests.harness import serve
from tests.harness import verify_cli as run_verify

ADMIN = "race-admin-key-of-at-least-32-characters"


@pytest.fixture
def server(pg_only_engine):
    """`creditlines serve` as the app role, which may not change the schema: at start it only checks
    that the schema is at head (the owner migrated it), then serves everything as that role."""
    from creditlines.db.roles import DEFAULT_APP_ROLE

    assert pg_only_engine.url.username == DEFAULT_APP_ROLE
    with serve(
        pg_only_engine.url.render_as_string(hide_password=False), admin_key=ADMIN, now="2026-03-02T09:00:00+00:00"
    ) as running:
        yield running.base


def _setup(base: str) -> str:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=base, headers=admin, timeout=10) as c:
        assert (
            c.post(
                "/v1/distributors",
                json={"id": "actebis", "name": "Actebis", "currency": "EUR", "timezone": "Europe/Paris"},
            ).status_code
            == 201
        )
        key = c.post("/v1/api-keys", json={"role": "integration", "distributor_id": "actebis"}).json()["key"]
        created = c.put("/v1/distributors/actebis/resellers/R-HOT", json={"name": "Hot"})
        assert created.status_code == 201, created.text
        c.put(
            "/v1/distributors/actebis/resellers/R-HOT/base-limit",
            json={"limit": {"amount": "5000.00", "currency": "EUR"}, "reason": "open"},
        )
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
    with httpx.Client(
        base_url=server, headers={"Authorization": f"Bearer {key}"}, timeout=30, limits=httpx.Limits(max_connections=64)
    ) as c:
        codes = _race(
            32,
            lambda i: (
                c.post(
                    path, json={"reference": f"SO-{i}", "amount": {"amount": "300.00", "currency": "EUR"}}
                ).status_code
            ),
        )
        assert codes.count(201) == 16 and codes.count(409) == 16, codes  # 16 × 300 = 4,800 ≤ 5,000 < 17 × 300

        dupes = _race(
            16, lambda i: c.post(path, json={"reference": "SO-DUP", "amount": {"amount": "150.00", "currency": "EUR"}})
        )
        assert sorted(r.status_code for r in dupes) == [200] * 15 + [201]
        assert len({r.text for r in dupes}) == 1

        drawings = c.get(path, params={"limit": 500}).json()["items"]
    assert sum(Decimal(d["amount"]["amount"]) for d in drawings) == Decimal("4950.00")
    checked = verify_cli()
    assert checked.returncode == 0, checked.stderr


@pytest.fixture
def verify_cli(pg_only_engine):
    return lambda: run_verify(pg_only_engine.url.render_as_string(hide_password=False))

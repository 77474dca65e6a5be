"""Reads on a real streaming replica (SPEC §22): a private primary and a `pg_basebackup` standby on
local ports, created and removed by the fixture. Listings and reports read the replica, everything
that decides reads the primary, /metrics shows the replica's lag, and a replica that goes down
sends its reads to the primary (docs/DECISIONS.md, "Read replicas")."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from creditlines.auth import service as auth
from scripts.fault.drawings_under_faults import PG_BIN, PrivateCluster
from tests.api.conftest import ADMIN_KEY, eur
from tests.factories import make_reseller, make_world
from tests.harness import free_port

D = "/v1/distributors/actebis"
TOKEN = "replica-metrics-token-0123456789"


@dataclass
class Pair:
    primary: PrivateCluster
    primary_url: str  # SQLAlchemy URL of the creditlines database on the primary
    replica_url: str
    replica_port: int

    def stop_replica(self) -> None:
        self.primary._run(str(PG_BIN / "pg_ctl"), "stop", "-D", str(self.primary.dir / "replica"), "-m", "immediate")

    def replica_sql(self, sql: str) -> object:
        with psycopg.connect(self.replica_url.replace("+psycopg", ""), autocommit=True) as conn:
            row = conn.execute(sql).fetchone()
        return row[0] if row else None

    def caught_up(self) -> None:
        """Wait (no assertion on time) until the replica has replayed all the primary wrote."""
        with psycopg.connect(self.primary_url.replace("+psycopg", ""), autocommit=True) as conn:
            target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
        assert target is not None
        for _ in range(600):
            if self.replica_sql(f"SELECT pg_last_wal_replay_lsn() >= '{target[0]}'::pg_lsn"):
                return
            time.sleep(0.05)
        raise AssertionError("the replica never caught up")


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    primary = PrivateCluster()
    primary.start()
    try:
        url = primary.create_database("creditlines")
        port = free_port()
        data = primary.dir / "replica"
        primary._run(
            str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(data), "-R", "-X", "stream", "--checkpoint=fast",
        )  # fmt: skip
        options = f"-p {port} -k {primary.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"  # as the primary
        log = str(primary.dir / "replica.log")
        primary._run(str(PG_BIN / "pg_ctl"), "start", "-D", str(data), "-l", log, "-w", "-o", options)
        replica_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/creditlines"
        try:
            yield Pair(primary, url, replica_url, port)
        finally:
            subprocess.run(
                ["runuser", "-u", "postgres", "--"] * primary.as_root
                + [str(PG_BIN / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate"],
                capture_output=True,
                timeout=60,
            )
    finally:
        primary.stop()


@pytest.fixture
def client(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from creditlines.config import get_settings

    monkeypatch.setenv("CREDITLINES_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("CREDITLINES_SENDER", "false")
    monkeypatch.setenv("CREDITLINES_METRICS_TOKEN", TOKEN)
    get_settings.cache_clear()
    app = create_app(database_url=pair.primary_url, read_database_url=pair.replica_url)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.state.uow.dispose()
    get_settings.cache_clear()


@pytest.mark.slow
def test_listings_read_the_replica_decisions_the_primary_and_a_replica_down_falls_back(
    pair: Pair, client: TestClient
) -> None:
    uow = client.app.state.uow  # type: ignore[attr-defined]
    assert uow.replica_set is not None
    make_world(uow)
    make_reseller(uow, "R-1", "10000.00")
    with uow.write() as s:
        _, key = auth.create_key(s, role="credit_officer", distributor_id="actebis")
    officer = {"Authorization": f"Bearer {key}"}
    drawing = {"reference": "SO-1", "amount": eur("4000.00")}
    assert client.post(f"{D}/resellers/R-1/drawings", headers=officer, json=drawing).status_code == 201
    pair.caught_up()
    listed = client.get(f"{D}/resellers/R-1/drawings", headers=officer)
    assert listed.status_code == 200 and [d["reference"] for d in listed.json()["items"]] == ["SO-1"]

    # The replica stops replaying (as one far behind would): a new drawing of 5,000.00 is posted.
    pair.replica_sql("SELECT pg_wal_replay_pause()")
    second = {"reference": "SO-2", "amount": eur("5000.00")}
    assert client.post(f"{D}/resellers/R-1/drawings", headers=officer, json=second).status_code == 201
    # The listing (the replica) does not show it yet; the drawing itself and the eligibility
    # check (the primary) do: 10,000 - 9,000 leaves 1,000.00, so 1,500.00 is refused.
    listed = client.get(f"{D}/resellers/R-1/drawings", headers=officer)
    assert [d["reference"] for d in listed.json()["items"]] == ["SO-1"]
    assert client.get(f"{D}/resellers/R-1/drawings/SO-2", headers=officer).status_code == 200
    check = client.post(f"{D}/resellers/R-1/eligibility", headers=officer, json={"amount": eur("1500.00")})
    assert check.status_code == 200 and check.json()["eligible"] is False, check.text
    report = client.get(f"{D}/reports/over-limit", headers=officer)
    assert report.status_code == 200

    # /metrics shows the lag: the replica has received WAL it has not replayed.
    lag = uow.replica_set.measure_lag()
    assert lag is not None and lag > 0
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert "creditlines_read_replica_lag_seconds " in metrics and "creditlines_read_replica_up 1.0" in metrics

    pair.replica_sql("SELECT pg_wal_replay_resume()")
    pair.caught_up()
    listed = client.get(f"{D}/resellers/R-1/drawings", headers=officer)
    assert sorted(d["reference"] for d in listed.json()["items"]) == ["SO-1", "SO-2"]
    assert uow.replica_set.measure_lag() == 0

    # The replica goes down: the listings read the primary, no error; /metrics says so.
    pair.stop_replica()
    third = {"reference": "SO-3", "amount": eur("500.00")}
    assert client.post(f"{D}/resellers/R-1/drawings", headers=officer, json=third).status_code == 201
    listed = client.get(f"{D}/resellers/R-1/drawings", headers=officer)
    assert listed.status_code == 200, listed.text
    assert sorted(d["reference"] for d in listed.json()["items"]) == ["SO-1", "SO-2", "SO-3"]
    assert client.get(f"{D}/reports/over-limit", headers=officer).status_code == 200
    assert uow.replica_set.is_down
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert "creditlines_read_replica_up 0.0" in metrics

"""/metrics reveals nothing without its token, or lives on its own port (SPEC §15).

In-process apps for the API port's rules; real `creditlines serve` processes (2 workers) for the
metrics port, which the parent binds once and fills from every worker's samples.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from creditlines.auth import service as auth
from creditlines.config import Settings, get_settings
from tests.factories import make_reseller, make_world
from tests.harness import free_port

TOKEN = "scrape-token-0123456789abcdef"
ADMIN = "metrics-admin-key-of-at-least-32-characters"
SECRET_NAMES = ("actebis", "creditlines_drawings_total", "creditlines_http_requests_total")


@pytest.fixture
def app_with(engine, monkeypatch):
    """An app built under the given metrics settings, with a refused drawing already counted."""
    clients = []

    def build(**env) -> TestClient:
        for name in ("CREDITLINES_METRICS_TOKEN", "CREDITLINES_METRICS_PORT"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("CREDITLINES_ADMIN_KEY", ADMIN)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        app = create_app(engine.url.render_as_string(hide_password=False))
        make_world(app.state.uow)
        make_reseller(app.state.uow, "R-1", "0.00")
        with app.state.uow.write() as s:
            _, erp = auth.create_key(s, role="integration", distributor_id="actebis")
        client = TestClient(app, raise_server_exceptions=False).__enter__()
        clients.append(client)
        refused = client.post(
            "/v1/distributors/actebis/resellers/R-1/drawings",
            headers={"Authorization": f"Bearer {erp}"},
            json={"reference": "SO-1", "amount": {"amount": "1.00", "currency": "EUR"}},
        )
        assert refused.json()["code"] == "insufficient_credit"
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)
        client.app.state.uow.dispose()
    get_settings.cache_clear()


def _unknown_path(client) -> httpx.Response:
    answer = client.get("/no-such-path")
    assert answer.status_code == 404
    return answer


def _reveals_nothing(answer, unknown) -> None:
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.content == unknown.content  # the very 404 of a path that does not exist
    assert not any(name in answer.text for name in SECRET_NAMES)


def _public_docs_without_metrics(client) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and "/metrics" not in spec.json()["paths"]


def test_without_a_setting_metrics_are_off_on_the_api_port(app_with):
    client = app_with()
    unknown = _unknown_path(client)
    for method, headers in [
        ("GET", {}),
        ("GET", {"Authorization": f"Bearer {TOKEN}"}),
        ("GET", {"Authorization": f"Bearer {ADMIN}"}),
        ("POST", {}),
        ("HEAD", {}),
    ]:
        answer = client.request(method, "/metrics", headers=headers)
        assert answer.status_code == 404, (method, headers)
        if method != "HEAD":
            _reveals_nothing(answer, unknown)
    _public_docs_without_metrics(client)


def test_with_a_token_only_its_bearer_reads_metrics(app_with):
    client = app_with(CREDITLINES_METRICS_TOKEN=TOKEN)
    unknown = _unknown_path(client)
    for authorization in [
        None,
        "Bearer",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        TOKEN,
        f"Bearer {ADMIN}",
    ]:
        headers = {"Authorization": authorization} if authorization else {}
        _reveals_nothing(client.get("/metrics", headers=headers), unknown)
    _reveals_nothing(client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}), unknown)
    scraped = client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    assert 'creditlines_drawings_total{distributor_id="actebis"' in scraped.text
    _public_docs_without_metrics(client)


def test_with_a_metrics_port_the_api_port_serves_no_metrics_even_to_the_token(app_with):
    client = app_with(CREDITLINES_METRICS_TOKEN=TOKEN, CREDITLINES_METRICS_PORT="9464")
    _reveals_nothing(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}), _unknown_path(client))
    _public_docs_without_metrics(client)


def test_a_short_metrics_token_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("CREDITLINES_METRICS_TOKEN", "short")
    with pytest.raises(ValueError, match="at least 16 characters"):
        Settings()
    monkeypatch.setenv("CREDITLINES_METRICS_TOKEN", "")
    assert Settings().metrics_token is None  # an empty variable is "unset", not an empty token


# Real servers --------------------------------------------------------------------------------


@pytest.fixture
def serve(tmp_path, sqlite_template):
    """`creditlines serve` on a fresh copy of the migrated SQLite file; returns (API base URL, process)."""
    started = []
    shutil.copyfile(sqlite_template, tmp_path / "serve.db")

    def start(workers: int, **env):
        port = free_port()
        full = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CREDITLINES_METRICS_", "PROMETHEUS_MULTIPROC_DIR"))
        }
        full.update(
            {
                "CREDITLINES_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
                "CREDITLINES_ADMIN_KEY": ADMIN,
                "CREDITLINES_LOG_LEVEL": "WARNING",
                **env,
            }
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "creditlines",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--no-migrate",
            ],
            env=full,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    return base, proc
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"server did not start: {proc.communicate()[1][-2000:]}")
            time.sleep(0.2)

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _stop(proc) -> str:
    proc.terminate()
    return proc.communicate(timeout=15)[1]


def _healthz_count(text: str) -> float:
    found = re.search(
        r'^creditlines_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


def _hit(base: str, n: int) -> None:
    """n requests to /healthz, each on its own connection, 8 at a time (spread over the workers)."""
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda _: httpx.get(base + "/healthz", timeout=10).status_code, range(n))) == {200}


@pytest.mark.slow
def test_a_server_without_a_setting_hides_metrics_and_says_once_how_to_enable_them(serve):
    base, proc = serve(2)
    unknown = httpx.get(base + "/no-such-path")
    _reveals_nothing(httpx.get(base + "/metrics"), unknown)
    _public_docs_without_metrics(httpx.Client(base_url=base))
    stderr = _stop(proc)
    assert stderr.count("/metrics is off") == 1, stderr  # the parent says it, not each worker
    assert "CREDITLINES_METRICS_TOKEN" in stderr and "CREDITLINES_METRICS_PORT" in stderr


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_the_metrics_port_is_bound_once_and_adds_up_every_worker(serve, workers):
    metrics_port = free_port()
    base, proc = serve(workers, CREDITLINES_METRICS_PORT=str(metrics_port), CREDITLINES_METRICS_TOKEN=TOKEN)
    scrape = f"http://127.0.0.1:{metrics_port}/metrics"
    before = _healthz_count(httpx.get(scrape, headers={"Authorization": f"Bearer {TOKEN}"}).text)
    _hit(base, 40)
    unknown = httpx.get(base + "/no-such-path")
    _reveals_nothing(httpx.get(scrape), unknown)  # both set: the metrics port wants the token too
    _reveals_nothing(httpx.get(scrape, headers={"Authorization": f"Bearer {TOKEN[:-1]}"}), unknown)
    _reveals_nothing(
        httpx.get(f"http://127.0.0.1:{metrics_port}/", headers={"Authorization": f"Bearer {TOKEN}"}), unknown
    )
    _reveals_nothing(httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}), unknown)
    scraped = httpx.get(scrape, headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    # every request, whichever worker answered it: the parent (which answers no API call) reads them all
    assert _healthz_count(scraped.text) == before + 40
    assert proc.poll() is None
    assert "Traceback" not in _stop(proc)


@pytest.mark.slow
def test_with_a_token_and_two_workers_any_worker_answers_with_the_sum(serve, tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    base, proc = serve(2, CREDITLINES_METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(directory))
    before = _healthz_count(httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text)
    sent = 0
    while sent < 800 and len({p.stem.rsplit("_", 1)[1] for p in Path(directory).glob("counter_*.db")}) < 2:
        _hit(base, 40)
        sent += 40
    assert len(list(directory.glob("counter_*.db"))) >= 2, "the requests never reached the second worker"
    for _ in range(4):  # whichever worker answers the scrape, it reports the requests of both
        scraped = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert scraped.status_code == 200 and _healthz_count(scraped.text) == before + sent
    _reveals_nothing(httpx.get(base + "/metrics"), httpx.get(base + "/no-such-path"))
    _stop(proc)


def test_a_metrics_port_in_use_stops_serve_with_a_clear_message(tmp_path, sqlite_template):
    shutil.copyfile(sqlite_template, tmp_path / "serve.db")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "CREDITLINES_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
            "CREDITLINES_METRICS_PORT": str(port),
        }
        done = subprocess.run(
            [sys.executable, "-m", "creditlines", "serve", "--no-migrate", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2 and f"cannot serve metrics on 127.0.0.1:{port}" in done.stderr, done.stderr

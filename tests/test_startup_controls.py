"""What `serve` refuses before it starts (SPEC §23), and what `scripts/serve` tells a new user."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITLINES_")}
    return {**env, "CREDITLINES_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", **extra}


def test_serve_refuses_a_short_admin_key_and_says_why(tmp_path):
    """A one-character CREDITLINES_ADMIN_KEY used to be accepted, and minted admin keys."""
    started = subprocess.run(
        [sys.executable, "-m", "creditlines", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        env=_env(tmp_path, CREDITLINES_ADMIN_KEY="k"),
        timeout=60,
    )
    assert started.returncode == 2, started.stderr
    message = " ".join(started.stderr.split())
    assert "not started" in message and "CREDITLINES_ADMIN_KEY is 1 characters long" in message
    assert "at least 32" in message


def test_a_short_admin_key_is_never_accepted_by_the_api(uow, engine, monkeypatch):
    from api.app import create_app
    from creditlines.config import get_settings

    monkeypatch.setenv("CREDITLINES_ADMIN_KEY", "short-admin-key")
    get_settings.cache_clear()
    try:
        app = create_app(database_url=engine.url.render_as_string(hide_password=False))
        with TestClient(app) as client:
            minted = client.post(
                "/v1/api-keys",
                headers={"Authorization": "Bearer short-admin-key"},
                json={"role": "admin"},
            )
        app.state.uow.dispose()
    finally:
        get_settings.cache_clear()
    assert minted.status_code == 401, minted.text


def test_scripts_serve_prints_curls_for_the_port_it_serves(tmp_path):
    """`scripts/serve --port 18777` printed curls for port 8000. Here the demo is on file already
    (`demo --if-empty` only prints its curls), then `serve` stops at once (a short admin key)."""
    import json

    from creditlines.db.engine import UnitOfWork, make_engine
    from creditlines.db.migrate import upgrade
    from tests.factories import make_reseller, make_world

    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    uow = UnitOfWork(make_engine(url))
    make_world(uow)
    make_reseller(uow, "AC-10001", "1000.00")
    uow.dispose()
    names = ("admin", "officer_actebis", "erp_actebis", "officer_etc", "erp_etc", "partner_microsoft")
    (tmp_path / "serve.demo-keys.json").write_text(json.dumps({name: f"cl_{name}" for name in names}))
    done = subprocess.run(
        [str(ROOT / "scripts" / "serve"), "--port", "18777"],
        capture_output=True,
        text=True,
        env=_env(tmp_path, CREDITLINES_ADMIN_KEY="short", CREDITLINES_VENV=sys.prefix),
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "http://127.0.0.1:18777/v1/" in done.stdout and ":8000" not in done.stdout

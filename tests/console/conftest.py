"""The console's fixtures. ``console``: the app on the test database with the story's data, its
keys and a client. ``browser``: the system's Chromium driven by Playwright (``executable_path``:
no browser is ever downloaded); without Playwright or Chromium the browser tests skip with a
message, except under CI=true, where they are mandatory."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from creditlines.db.engine import UnitOfWork
from tests.conftest import IN_CI
from tests.console import story

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "console-screenshots"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CREDITLINES_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(
            f"{reason}: the browser tests are mandatory under CI=true (apt-get install -y chromium chromium-driver)",
            pytrace=False,
        )
    pytest.skip(f"{reason}: browser tests of the console skipped (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module, stopped after it (Playwright's event loop never outlives
    the browser tests)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed")
    path = chromium_path()
    if path is None:
        _missing("no Chromium on this machine")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def console(engine: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str], UnitOfWork]]:
    from creditlines.config import get_settings

    monkeypatch.setenv("CREDITLINES_CONSOLE_SECRET", "a-test-secret-of-enough-length")
    get_settings.cache_clear()
    app = create_app(database_url=engine.url.render_as_string(hide_password=False))
    keys = story.load(app.state.uow)
    with TestClient(app, raise_server_exceptions=True, base_url="http://127.0.0.1") as client:
        yield client, keys, app.state.uow
    app.state.uow.dispose()
    get_settings.cache_clear()

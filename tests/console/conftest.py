"""The console's browser: the system's Chromium driven by Playwright (``executable_path``: no
browser is ever downloaded). Without Playwright or Chromium the browser tests skip with a
message, except under CI=true, where they are mandatory."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "console-screenshots"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CREDITLINES_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}: the browser tests are mandatory under CI=true "
                    "(apt-get install -y chromium chromium-driver)", pytrace=False)
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

"""Settings, read from the environment with the ``CREDITLINES_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "creditlines.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDITLINES_", extra="ignore")

    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    admin_key: str | None = None
    now: str | None = None  # read by clock.py on every call, kept here for documentation
    log_level: str = "INFO"
    locale: str = "fr_FR"  # how amounts are shown to people by the CLI
    key_cache_seconds: int = 5  # how long a worker trusts a verified key; 0 checks every request
    hot_pool_size: int = 4  # PostgreSQL connections per worker for the hot paths (eligibility, drawings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""Settings, read from the environment with the ``CREDITLINES_`` prefix."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "creditlines.db"


MIN_ADMIN_KEY_LENGTH = 32  # SPEC §23: a bootstrap admin key shorter than this is refused


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDITLINES_", extra="ignore")

    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"  # the service's (on PostgreSQL: the app role)
    # The owner's, for migrations (`creditlines migrate`, and `serve` when set); unset: database_url.
    migration_database_url: str | None = None
    # A streaming replica for listings, reports, the console's searches and the partner managers'
    # views (SPEC §22, docs/OPERATIONS.md); unset: everything reads the primary.
    read_database_url: str | None = None
    app_role: str = "creditlines_app"  # the role migration 0004 grants the service's privileges to
    admin_key: str | None = None  # at least MIN_ADMIN_KEY_LENGTH characters, or `serve` refuses to start
    now: str | None = None  # read by clock.py on every call, kept here for documentation
    log_level: str = "INFO"
    locale: str = "fr_FR"  # how amounts are shown to people by the CLI
    key_cache_seconds: int = 5  # how long a worker trusts a verified key; 0 checks every request
    hot_pool_size: int = 4  # PostgreSQL connections per worker for the hot paths (eligibility, drawings)
    # Group commit of drawings on PostgreSQL (creditlines.db.batch, docs/OPERATIONS.md): the drawings a
    # worker receives while group_commit_in_flight calls are running go together in the next call.
    group_commit: bool = True
    group_commit_max: int = 64  # drawings per call at most
    group_commit_in_flight: int = 1  # calls a worker runs at once (each on its own hot connection)
    # /metrics: off unless one of these is set (see docs/OPERATIONS.md)
    metrics_token: str | None = None  # /metrics on the API port, for `Authorization: Bearer <it>` only
    metrics_port: int | None = None  # /metrics on its own port (served by `creditlines serve`), not on the API's
    metrics_host: str = "127.0.0.1"  # address of the metrics port
    # The webhook sender (docs/OPERATIONS.md): inside `creditlines serve` unless sender is false.
    sender: bool = True
    sender_poll_seconds: float = 1.0  # how often a sender looks for new events (a new one goes out within it)
    sender_concurrency: int = 8  # endpoints delivered to at once per sender
    webhook_timeout_seconds: float = 10.0  # a POST answered later counts as failed
    webhook_retry_base_seconds: float = 10.0  # first retry after 5-10 s, then doubling (jitter: 50-100 %)
    webhook_retry_cap_seconds: float = 3600.0  # longest pause between two attempts
    webhook_retry_window_seconds: float = 86400.0  # failing this long: the endpoint is disabled
    sender_turn_seconds: float = 2.0  # an endpoint's turn: no new POST after this long, then the next endpoint
    # Webhook destinations inside these CIDRs are allowed although loopback/private/... (SPEC §23).
    webhook_allow_networks: str = ""
    # Fernet key(s) encrypting webhook secrets at rest (comma-separated: the first encrypts, all
    # decrypt); unset: secrets are stored as given (docs/OPERATIONS.md, "Webhook secrets").
    secret_key: str | None = None

    @field_validator("metrics_token", "metrics_port", "secret_key", "read_database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("metrics_token")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ValueError("CREDITLINES_METRICS_TOKEN must be at least 16 characters (a random secret)")
        return value

    @field_validator("webhook_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # a ValueError names the bad entry
        return value

    @field_validator("secret_key")
    @classmethod
    def _fernet_keys(cls, value: str | None) -> str | None:
        if value is not None:
            from cryptography.fernet import Fernet

            for key in value.split(","):
                try:
                    Fernet(key.strip())
                except (ValueError, TypeError):
                    raise ValueError(
                        "CREDITLINES_SECRET_KEY must be Fernet keys (32 url-safe base64-encoded bytes), comma-separated"
                    ) from None
        return value

    @property
    def allow_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.webhook_allow_networks)


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """``CREDITLINES_WEBHOOK_ALLOW_NETWORKS``: comma-separated CIDRs (``127.0.0.0/8,10.1.0.0/16``)."""
    networks = []
    for item in value.split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(f"CREDITLINES_WEBHOOK_ALLOW_NETWORKS: {item.strip()[:60]!r} is not a CIDR") from None
    return tuple(networks)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def admin_key_problem(admin_key: str | None) -> str | None:
    """Why the bootstrap admin key cannot be used (None: unset, or long enough)."""
    if admin_key is None or len(admin_key) >= MIN_ADMIN_KEY_LENGTH:
        return None
    return (
        f"CREDITLINES_ADMIN_KEY is {len(admin_key)} characters long; it must be at least "
        f"{MIN_ADMIN_KEY_LENGTH} (a random secret: python -c 'import secrets; print(secrets.token_urlsafe(32))'), "
        "or unset it and use stored admin keys"
    )

"""Real processes for the tests and the fault script: scratch databases, `creditlines serve`,
`creditlines verify`. One place to change how the server is started (role, workers, clock).
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import psycopg

from creditlines.db.migrate import upgrade
from creditlines.db.roles import DEFAULT_APP_ROLE, DEFAULT_OWNER_ROLE, Roles, create_roles, with_user

PG_SERVER = os.environ.get("CREDITLINES_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


# Ports for the servers tests start (creditlines serve, uvicorn, private PostgreSQL clusters):
# below the kernel's ephemeral range (32768-60999), where no outgoing connection takes one between
# its choice and its bind, in a block of PORT_BLOCK per pytest-xdist worker (gw0, gw1, ...), so two
# workers never choose the same. A plain run (no worker) has the first block.
PORT_BASE, PORT_BLOCK = 20000, 1000


def free_port() -> int:
    """A loopback port nothing listens on now, from this worker's block, never the same twice in a
    row (a port just handed out may not be bound yet)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = PORT_BASE + (int(worker) if worker.isdigit() else 0) % 12 * PORT_BLOCK
    for _ in range(PORT_BLOCK):
        port = first + next(_port_offsets) % PORT_BLOCK
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use: the next one
            return port
    raise RuntimeError(f"no free port in {first}-{first + PORT_BLOCK - 1}")


_port_offsets = itertools.count(random.randrange(PORT_BLOCK))  # a random start: two processes of one worker


def sqlalchemy_url(libpq_url: str) -> str:
    return libpq_url.replace("postgresql://", "postgresql+psycopg://", 1)


def app_url(url: str) -> str:
    """The database ``url`` as the service's least-privileged role (SPEC §15)."""
    return with_user(url, DEFAULT_APP_ROLE)


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def pg_database(prefix: str, server: str = PG_SERVER) -> Iterator[str]:
    """A database of its own on ``server``, set up as production is (the owner and app roles,
    migrated as the owner), dropped afterwards; yields its SQLAlchemy URL as the superuser. The
    service runs on :func:`app_url` of it."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = sqlalchemy_url(server.rsplit("/", 1)[0]) + f"/{name}"
    try:
        create_roles(url, Roles())
        upgrade(with_user(url, DEFAULT_OWNER_ROLE))
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    base: str
    process: subprocess.Popen
    database_url: str
    log_path: str

    def log_tail(self, chars: int = 3000) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()[-chars:]


@contextmanager
def serve(
    database_url: str, *, admin_key: str, now: str | None, workers: int = 2, startup_timeout: float = 60
) -> Iterator[Server]:
    """`creditlines serve --workers N` on ``database_url``, ready when ``/readyz`` answers 200.

    The clock is fixed by ``CREDITLINES_NOW`` when ``now`` is given. Stopped (SIGTERM, then
    SIGKILL) on exit; its stderr is shown if it does not start.
    """
    port = free_port()
    env = {
        **os.environ,
        "CREDITLINES_DATABASE_URL": database_url,
        "CREDITLINES_ADMIN_KEY": admin_key,
        "CREDITLINES_LOG_LEVEL": "WARNING",
    }
    env.pop("CREDITLINES_NOW", None)
    env.pop("CREDITLINES_MIGRATION_DATABASE_URL", None)
    if now is not None:
        env["CREDITLINES_NOW"] = now
    # stderr to a file, not a pipe: a pipe nobody reads fills up and stalls the server.
    log = tempfile.NamedTemporaryFile(prefix="creditlines-serve-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "creditlines", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    server = Server(f"http://127.0.0.1:{port}", proc, database_url, log.name)
    base = server.base
    deadline = time.monotonic() + startup_timeout
    while True:
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"server did not start: {server.log_tail(2000)}")
        time.sleep(0.2)
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        os.unlink(log.name)


def verify_cli(database_url: str, distributor: str | None = None) -> subprocess.CompletedProcess:
    """`creditlines verify` as an operator runs it (exit 0: balances agree with the ledger)."""
    env = {**os.environ, "CREDITLINES_DATABASE_URL": database_url}
    env.pop("CREDITLINES_NOW", None)
    args = [sys.executable, "-m", "creditlines", "verify"] + (["--distributor", distributor] if distributor else [])
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)

"""A pg_auto_failover formation on local ports, for one run: the monitor and two PostgreSQL nodes
(a primary and its synchronous standby), each `pg_autoctl … --run` in a process group of its own,
in a temporary directory (data, configuration, state and logs), as the `postgres` OS user when
run as root (PostgreSQL refuses root). Removed on exit, whatever happened.

The settings are those of deploy/ha/ (docs/OPERATIONS.md, "High availability"): `--auth trust` and
`--no-ssl` only because everything here is on 127.0.0.1 and lives for a minute.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("CREDITLINES_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_AUTOCTL = shutil.which("pg_autoctl") or "/usr/bin/pg_autoctl"
DATABASE = "creditlines"
# The monitor's failure detection, production defaults (deploy/ha/monitor.sql) and, for the short
# run of the CI, a faster one (a dead primary is declared so within ~3 s instead of ~20 s, and its
# demotion is waited for 5 s instead of 30 s). Only safe because the old primary is really dead
# here: docs/OPERATIONS.md explains why production keeps the defaults.
FAST_DETECTION = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "3000",
    "pgautofailover.primary_demote_timeout": "5000",
}


class Formation:
    def __init__(self, ports: tuple[int, int, int], *, fast_detection: bool) -> None:
        self.monitor_port, *node_ports = ports
        self.nodes = {"node1": node_ports[0], "node2": node_ports[1]}
        self.fast_detection = fast_detection
        self.dir = Path(tempfile.mkdtemp(prefix="creditlines-ha-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {
            "PATH": f"{PG_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PG_CONFIG": str(PG_BIN / "pg_config"),
            "XDG_CONFIG_HOME": str(self.dir / "config"),
            "XDG_DATA_HOME": str(self.dir / "state"),
            "XDG_RUNTIME_DIR": str(self.dir / "run"),
            "PGHOST": "127.0.0.1",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }

    # ----------------------------------------------------------------- URLs

    @property
    def monitor_url(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.monitor_port}/pg_auto_failover?sslmode=disable"

    def node_url(self, name: str, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.nodes[name]}/{database}?connect_timeout=2"

    def service_url(self) -> str:
        """The multi-host URL the service is given (SPEC §22)."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.nodes.values())
        return f"postgresql+psycopg://postgres@{hosts}/{DATABASE}?target_session_attrs=read-write"

    def primary_url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.nodes.values())
        return f"postgresql://postgres@{hosts}/{DATABASE}?target_session_attrs=read-write&connect_timeout=2"

    # ----------------------------------------------------------------- processes

    def _spawn(self, name: str, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        env_args = ["env", *(f"{k}={v}" for k, v in self.env.items())]
        log = open(self.dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            prefix + env_args + [PG_AUTOCTL, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the keeper, its Postgres and backends
            cwd=self.dir,
        )
        log.close()

    def start_monitor(self, timeout_s: float = 90) -> None:
        self._spawn(
            "monitor",
            "create", "monitor", "--pgdata", str(self.dir / "monitor"), "--pgport", str(self.monitor_port),
            "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl", "--run",
        )  # fmt: skip
        url = f"postgresql://postgres@127.0.0.1:{self.monitor_port}/pg_auto_failover?connect_timeout=2"
        self._until(timeout_s, "the monitor", lambda: _answers(url, "SELECT count(*) FROM pgautofailover.formation"))
        if self.fast_detection:
            with psycopg.connect(url, autocommit=True) as conn:
                for name, value in FAST_DETECTION.items():
                    conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                conn.execute("SELECT pg_reload_conf()")

    def start_node(self, name: str, role: str, timeout_s: float = 120) -> None:
        self._spawn(
            name,
            "create", "postgres", "--pgdata", str(self.dir / name), "--pgport", str(self.nodes[name]),
            "--hostname", "127.0.0.1", "--name", name, "--dbname", DATABASE, "--auth", "trust", "--no-ssl",
            "--pgctl", str(PG_BIN / "pg_ctl"), "--monitor", self.monitor_url, "--run",
        )  # fmt: skip
        self._until(timeout_s, f"{name} as {role}", lambda: self.states().get(name) == (role, role))

    def states(self) -> dict[str, tuple[str, str]]:
        """Each node's (reported state, assigned state) as the monitor has them."""
        url = f"postgresql://postgres@127.0.0.1:{self.monitor_port}/pg_auto_failover?connect_timeout=2"
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                rows = conn.execute("SELECT nodename, reportedstate, goalstate FROM pgautofailover.node").fetchall()
        except psycopg.Error:
            return {}
        return {name: (str(reported), str(goal)) for name, reported, goal in rows}

    def synchronous(self, name: str) -> tuple[str, str, list[str]]:
        """On node ``name``: synchronous_commit, synchronous_standby_names and the sync states
        of its standbys (pg_stat_replication)."""
        with psycopg.connect(self.node_url(name), autocommit=True) as conn:
            commit = conn.execute("SHOW synchronous_commit").fetchone()
            names = conn.execute("SHOW synchronous_standby_names").fetchone()
            states = [row[0] for row in conn.execute("SELECT sync_state FROM pg_stat_replication")]
        return str(commit[0] if commit else ""), str(names[0] if names else ""), states

    def kill(self, name: str) -> None:
        """SIGKILL to the node's whole process tree at once: its keeper, its Postgres, every
        backend and auxiliary process — as if the machine had died (killing Postgres alone would
        see the keeper restart it). Postgres puts each child in a session of its own, so the
        tree is walked rather than the process group signalled."""
        process = self.processes[name]
        for pid in [process.pid, *_descendants(process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=30)

    def log_tail(self, name: str, chars: int = 1500) -> str:
        try:
            return (self.dir / f"{name}.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def remove(self) -> None:
        for name in list(self.processes):
            self.kill(name)
        # Children of a node killed earlier were re-parented outside its tree: any process still
        # working in this run's directory is one of ours (a Postgres child's cwd is its data).
        for _ in range(3):
            strays = _working_in(self.dir)
            if not strays:
                break
            for pid in strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _until(timeout_s: float, what: str, ready) -> None:  # type: ignore[no-untyped-def]
        start = time.monotonic()
        deadline = start + timeout_s
        while time.monotonic() < deadline:
            if ready():
                print(f"formation: {what} after {time.monotonic() - start:.1f} s", file=sys.stderr, flush=True)
                return
            time.sleep(0.5)
        raise RuntimeError(f"{what}: not ready after {timeout_s:.0f} s")


def _answers(url: str, sql: str) -> bool:
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql)
        return True
    except psycopg.Error:
        return False


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def _working_in(directory: Path) -> list[int]:
    """Processes whose working directory is ``directory`` or under it."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == str(directory) or cwd.startswith(f"{directory}/"):
            pids.append(int(entry.name))
    return pids


@contextmanager
def formation(ports: tuple[int, int, int], *, fast_detection: bool) -> Iterator[Formation]:
    """The monitor, node1 as primary, node2 as its synchronous standby; removed on exit."""
    f = Formation(ports, fast_detection=fast_detection)
    try:
        f.start_monitor()
        f.start_node("node1", "single")
        # pg_basebackup (how pg_autoctl clones the standby) starts with a spread checkpoint: on a
        # fresh node with every page dirty it takes minutes; one immediate checkpoint first leaves
        # it nothing to write.
        with psycopg.connect(f.node_url("node1"), autocommit=True) as conn:
            conn.execute("CHECKPOINT")
        f.start_node("node2", "secondary")
        f._until(60, "node1 as primary", lambda: f.states().get("node1") == ("primary", "primary"))
        yield f
    except BaseException:
        for name in f.processes:
            print(f"--- {name} log ---\n{f.log_tail(name)}", flush=True)
        raise
    finally:
        f.remove()

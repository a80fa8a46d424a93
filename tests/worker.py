"""A real Celery worker in a subprocess that sees the test database (see shared/TESTING.md)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

from pizzeria.celery import QUEUES, app

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    host = s["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(predicate: Callable[[], object], *, timeout: float = 20.0, interval: float = 0.05, what: str = "") -> object:
    """Poll until predicate() is truthy; fail with what was last seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what or predicate}; last value {last!r}")


def purge_queues() -> None:
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        for queue in QUEUES:
            client.delete(queue)
        # Messages a killed worker had taken but not acknowledged (Redis transport bookkeeping).
        client.delete("unacked", "unacked_index", "unacked_mutex")


class WorkerProcess:
    def __init__(self, *, queues: tuple[str, ...] = QUEUES, concurrency: int = 1, beat: bool = True,
                 env: dict[str, str] | None = None) -> None:
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.queues = queues
        self.concurrency = concurrency
        self.beat = beat
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.tmp = tempfile.TemporaryDirectory(prefix="pz-worker-")
        self.log_path = Path(self.tmp.name) / "worker.log"

    def start(self, *, timeout: float = 30.0) -> WorkerProcess:
        cmd = [
            sys.executable, "-m", "celery", "-A", "pizzeria", "worker",
            "-Q", ",".join(self.queues), "-P", "prefork", "-c", str(self.concurrency),
            "--without-mingle", "--without-gossip", "-n", self.name, "--loglevel", "INFO",
        ]
        if self.beat:
            cmd += ["-B", "-s", str(Path(self.tmp.name) / "beat-schedule")]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "pizzeria.settings.test",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            **self.extra_env,
        }
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Worker exited with {self.proc.returncode}:\n{self.log_tail()}")
            if app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(f"Worker did not answer within {timeout}s:\n{self.log_tail()}")

    def pool_children(self) -> list[int]:
        import psutil

        return [c.pid for c in psutil.Process(self.proc.pid).children() if "beat" not in " ".join(c.cmdline())]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        import psutil

        if self.proc is None:
            return
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                child.kill()
        except psutil.NoSuchProcess:
            pass
        self.proc.kill()
        self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def private_redis(port: int):
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_for(lambda: _answers(port), timeout=10, what=f"redis on {port}")
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@contextlib.contextmanager
def app_broker(url: str):
    """Point this process's Celery app (the publishing side) at another broker."""
    old = app.conf.broker_url

    def reset(to: str) -> None:
        # kombu keeps one pool per broker URL; forget ours (never close it: it would be handed
        # back closed when the URL is restored).
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_url = to

    reset(url)
    try:
        yield
    finally:
        reset(old)

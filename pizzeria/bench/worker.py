"""The bench's own Celery worker subprocess: started, pinged, always stopped by its pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from pizzeria.celery import QUEUES, app

ROOT = Path(__file__).resolve().parent.parent.parent


class BenchWorker:
    def __init__(self, *, concurrency: int, loglevel: str = "WARNING", env: dict[str, str] | None = None) -> None:
        self.name = f"bench-{uuid.uuid4().hex[:8]}@localhost"
        self.concurrency = concurrency
        self.loglevel = loglevel
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="pz-bench-worker-", suffix=".log")[1])

    @property
    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "pizzeria", "worker",
            "-Q", ",".join(QUEUES), "-P", "prefork", "-c", str(self.concurrency),
            "--without-mingle", "--without-gossip", "-n", self.name, "--loglevel", self.loglevel,
        ]

    def start(self, *, timeout: float = 30.0) -> BenchWorker:
        env = {**os.environ, **self.extra_env}
        self._log = open(self.log_path, "wb")
        # Own session: a Ctrl-C in the terminal reaches the bench, which stops the worker itself.
        self.proc = subprocess.Popen(
            self.command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
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

    def pool_pids(self) -> list[int]:
        import psutil

        return [c.pid for c in psutil.Process(self.proc.pid).children()]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Warm shutdown (SIGTERM to our pid); SIGKILL the worker and its pool if it hangs."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None
        self._log.close()

    def kill(self) -> None:
        import psutil

        if self.proc is None:
            return
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                child.kill()
        except psutil.NoSuchProcess:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def broker_keys_purge() -> None:
    """Empty the bus queues (and the Redis transport's unacked bookkeeping) on this broker DB."""
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        keys = []
        for queue in QUEUES:
            keys.append(queue)
            keys.extend(client.scan_iter(match=f"{queue}\x06\x16*"))  # priority sub-queues
        keys.extend(client.scan_iter(match="pz-bench:*"))  # the baseline's counters
        client.delete(*keys, "unacked", "unacked_index", "unacked_mutex")


def other_workers() -> list[str]:
    replies = app.control.ping(timeout=1.0) or []
    return [name for reply in replies for name in reply]

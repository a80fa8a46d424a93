"""A Celery worker in a subprocess: started, pinged until it answers, always stopped by its pid.

Used by the tests (a real worker on the test database, which a test can SIGKILL) and by
`make bench`. Stopping by pid, never by name, so other workers on the machine are left alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from pizzeria.celery import QUEUES, app

ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    def __init__(
        self,
        *,
        prefix: str = "worker",
        queues: tuple[str, ...] = QUEUES,
        concurrency: int = 1,
        beat: bool = False,
        loglevel: str = "INFO",
        env: dict[str, str] | None = None,
        new_session: bool = False,
    ) -> None:
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}@localhost"
        self.queues = queues
        self.concurrency = concurrency
        self.beat = beat
        self.loglevel = loglevel
        self.extra_env = env or {}
        # Own session: a Ctrl-C in the terminal reaches only the parent, which stops the worker.
        self.new_session = new_session
        self.proc: subprocess.Popen | None = None
        self.tmp = tempfile.TemporaryDirectory(prefix=f"pz-{prefix}-")
        self.log_path = Path(self.tmp.name) / "worker.log"

    @property
    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "pizzeria",
            "worker",
            "-Q",
            ",".join(self.queues),
            "-P",
            "prefork",
            "-c",
            str(self.concurrency),
            "--without-mingle",
            "--without-gossip",
            "-n",
            self.name,
            "--loglevel",
            self.loglevel,
        ]
        if self.beat:
            cmd += ["-B", "-s", str(Path(self.tmp.name) / "beat-schedule")]
        return cmd

    def start(self, *, timeout: float = 30.0) -> WorkerProcess:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - the worker's stdout until stop() closes it
        self.proc = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env={**os.environ, **self.extra_env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=self.new_session,
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.kill()
            raise
        return self

    @property
    def _started(self) -> subprocess.Popen:
        if self.proc is None:
            raise RuntimeError(f"Worker {self.name} was never started")
        return self.proc

    @property
    def pid(self) -> int:
        return self._started.pid

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._started.poll() is not None:
                raise RuntimeError(f"Worker exited with {self._started.returncode}:\n{self.log_tail()}")
            if app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(f"Worker did not answer within {timeout}s:\n{self.log_tail()}")

    def pool_pids(self) -> list[int]:
        import psutil  # optional: a dev dependency (requirements-dev.txt), for the worker the simulation starts

        return [c.pid for c in psutil.Process(self._started.pid).children()]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Warm shutdown (SIGTERM to our pid); SIGKILL the worker and its pool if it hangs."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            pool = self._children()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
            # A pool process still running once its parent is gone would go on writing to the
            # database (a test's teardown then deadlocks its TRUNCATE against it): none may outlive it.
            for child in pool:
                with contextlib.suppress(Exception):
                    if child.is_running():
                        child.kill()
        self._log.close()

    def _children(self) -> list:
        import psutil  # optional: a dev dependency (requirements-dev.txt), for the worker the simulation starts

        try:
            return psutil.Process(self._started.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        import psutil  # optional: a dev dependency (requirements-dev.txt), for the worker the simulation starts

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

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def queues_purge(*, extra_patterns: tuple[str, ...] = ()) -> None:
    """Empty the bus queues on this broker DB, with the Redis transport's bookkeeping of messages
    a killed worker had taken but not acknowledged, and any keys matching extra_patterns.
    On RabbitMQ: declare and purge each queue (unacknowledged messages return on their own when
    the consumer's channel closes)."""
    with app.connection_for_write() as conn:
        if conn.transport.driver_type == "amqp":
            channel: Any = conn.default_channel  # a kombu channel of the amqp transport
            for queue in app.amqp.queues.values():
                queue.bind(channel).declare()  # a first run finds them missing
                channel.queue_purge(queue.name)
            return
        client = conn.default_channel.client  # type: ignore[attr-defined]  # the Redis transport's channel
        keys: list = []
        for name in QUEUES:
            keys.append(name)
            keys.extend(client.scan_iter(match=f"{name}\x06\x16*"))  # priority sub-queues
        for pattern in extra_patterns:
            keys.extend(client.scan_iter(match=pattern))
        client.delete(*keys, "unacked", "unacked_index", "unacked_mutex")

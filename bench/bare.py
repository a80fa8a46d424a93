"""What a user would pick instead: a plain `Celery()` app outside Django, with Celery's defaults.

    celery -A bench.bare worker -Q bench-bare -P prefork -c <same as the bench's worker>

No Django (the worker's environment has no DJANGO_SETTINGS_MODULE, so Celery's Django fixup stays
out), no settings but the broker URL and a queue of its own: prefetch 4, early acks, task events
off, JSON, no result backend — Celery 5's defaults. Its one task does what the in-project baseline
task does (bench/tasks.py): count itself and stamp the time in Redis in one round trip, so the bench
sees the last one finish without a result backend. Same broker as the pipeline (Redis or RabbitMQ),
same pool and process count, started with the same --without-mingle --without-gossip as the bench's
worker (start-up only; neither touches the task path).

The module is imported twice: by that worker (environment: BENCH_BARE_BROKER_URL,
BENCH_BARE_REDIS_URL, BENCH_BARE_QUEUE) and by the bench, which publishes through the same `app`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
from celery import Celery

from bench.noop import count_done
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[1]
QUEUE = os.environ.get("BENCH_BARE_QUEUE", "bench-bare")

app = Celery("bench_bare", broker=os.environ.get("BENCH_BARE_BROKER_URL") or None)
app.conf.task_default_queue = QUEUE  # a queue of its own; every other setting is Celery's default

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ.get("BENCH_BARE_REDIS_URL", "redis://127.0.0.1:6379/0"))
    return _client


@app.task(name="bench_bare.noop")
def noop(counter_key: str) -> None:
    count_done(redis_client(), counter_key)


def configure(broker_url: str, redis_url: str) -> None:
    """Point the publishing side (the bench process) at the same broker and counter as the worker."""
    global _client
    os.environ["BENCH_BARE_BROKER_URL"] = broker_url
    os.environ["BENCH_BARE_REDIS_URL"] = redis_url
    app.conf.broker_url = broker_url  # type: ignore[misc]  # the stubs make it read-only; Celery allows it
    _client = None


class BareWorker:
    """`celery -A bench.bare worker` in a subprocess of its own session, stopped by its pid."""

    def __init__(
        self, *, concurrency: int, broker_url: str, redis_url: str, loglevel: str = "WARNING"
    ) -> None:
        self.name = f"bare-{uuid.uuid4().hex[:8]}@localhost"
        self.concurrency = concurrency
        self.broker_url = broker_url
        self.redis_url = redis_url
        self.loglevel = loglevel
        self.proc: subprocess.Popen | None = None
        self.tmp = tempfile.TemporaryDirectory(prefix="pz-bench-bare-")
        self.log_path = Path(self.tmp.name) / "worker.log"

    @property
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.bare",
            "worker",
            "-Q",
            QUEUE,
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

    def start(self, *, timeout: float = 30.0) -> BareWorker:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        env.update(
            BENCH_BARE_BROKER_URL=self.broker_url, BENCH_BARE_REDIS_URL=self.redis_url, BENCH_BARE_QUEUE=QUEUE
        )
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - the worker's stdout until stop() closes it
        self.proc = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bare worker exited with {self.proc.returncode}:\n{self.log_tail()}")
            if app.control.ping(destination=[self.name], timeout=0.5):
                return self
        self.stop()
        raise RuntimeError(f"bare worker did not answer within {timeout}s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("the bare worker was never started")
        return self.proc.pid

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                import psutil

                try:
                    for child in psutil.Process(self.proc.pid).children(recursive=True):
                        child.kill()
                except psutil.NoSuchProcess:
                    pass
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def timed_noops(client: redis.Redis, n: int, send, *, timeout: float, what: str, paused=None) -> dict:
    """Publish n no-op tasks with send(counter_key) (inside one producer), wait for the counter to
    reach n; first publish → the last task's own time stamp. With `paused` (bench.worker.Paused),
    the worker consumes nothing while they are published: the worker's drain rate, timed from
    the first task done to the last (a worker that consumed from no queue notices the resumed
    one only at its next poll, up to a second later: not the worker's speed). Shared with the
    in-project baseline."""
    key = f"pz-bench:{uuid.uuid4().hex}"
    client.delete(key, f"{key}:t", f"{key}:t0")
    with paused or contextlib.nullcontext():
        started = time.time()
        for _ in range(n):
            send(key)
        published = time.time()
    wait_until(
        lambda: int(client.get(key) or 0) >= n,
        timeout=timeout,
        interval=0.005,
        message=f"{what}: {n} no-op tasks done",
    )
    finished = float(client.get(f"{key}:t"))  # type: ignore[arg-type]  # written before the count reached n
    if paused is not None:
        started, n_timed = float(client.get(f"{key}:t0")), n - 1  # type: ignore[arg-type]  # first done → last done: n - 1 tasks
    else:
        n_timed = n
    client.delete(key, f"{key}:t", f"{key}:t0")
    elapsed = finished - started
    return {
        "tasks": n,
        "mode": "drain" if paused is not None else "live",
        "publish_s": round(published - started, 4) if paused is None else None,
        "elapsed_s": round(elapsed, 4),
        "tasks_per_s": round(n_timed / elapsed, 1),
    }


def throughput(n: int, *, timeout: float, node: str | None = None) -> dict:
    """n no-op tasks on the bare app's queue, drained by worker `node` (paused while they are
    published) or, without a node, consumed while published (as measure.baseline)."""
    from bench.worker import Paused

    paused = Paused(app, node, [QUEUE]) if node else None
    with app.producer_or_acquire() as producer:
        return timed_noops(
            redis_client(),
            n,
            lambda key: noop.apply_async((key,), producer=producer),
            timeout=timeout,
            what="bare Celery",
            paused=paused,
        )


def queue_purge() -> None:
    """Empty the bare queue (a run interrupted halfway leaves messages)."""
    with app.connection_for_write() as conn:
        try:
            app.amqp.queues[QUEUE].bind(conn.default_channel).purge()
        except Exception:  # noqa: S110 - never declared yet (RabbitMQ) or nothing to purge
            pass

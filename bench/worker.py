"""The bench's worker subprocess and broker housekeeping."""

from __future__ import annotations

from pizzeria.celery import app
from pizzeria.simulation.workerproc import WorkerProcess, queues_purge


def bench_worker(*, concurrency: int, loglevel: str = "WARNING", env: dict[str, str] | None = None) -> WorkerProcess:
    """The bench's worker: every bus queue, no beat, its own session so Ctrl-C reaches the bench."""
    return WorkerProcess(prefix="bench", concurrency=concurrency, loglevel=loglevel, env=env, new_session=True)


def broker_keys_purge() -> None:
    """Empty the bus queues and the baseline's counters on this broker DB."""
    queues_purge(extra_patterns=("pz-bench:*",))


def other_workers() -> list[str]:
    replies = app.control.ping(timeout=1.0) or []
    return [name for reply in replies for name in reply]

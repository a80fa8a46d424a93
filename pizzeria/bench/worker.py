"""The bench's worker subprocess and broker housekeeping."""

from __future__ import annotations

from pizzeria.celery import QUEUES, app
from pizzeria.workerproc import WorkerProcess


def bench_worker(*, concurrency: int, loglevel: str = "WARNING", env: dict[str, str] | None = None) -> WorkerProcess:
    """The bench's worker: every bus queue, no beat, its own session so Ctrl-C reaches the bench."""
    return WorkerProcess(prefix="bench", concurrency=concurrency, loglevel=loglevel, env=env, new_session=True)


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

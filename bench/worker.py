"""The bench's worker subprocess and broker housekeeping."""

from __future__ import annotations

from pizzeria.celery import app
from simulation.workerproc import WorkerProcess, queues_purge


def bench_worker(
    *, concurrency: int, loglevel: str = "WARNING", env: dict[str, str] | None = None
) -> WorkerProcess:
    """The bench's worker: every bus queue, no beat, its own session so Ctrl-C reaches the bench."""
    return WorkerProcess(
        prefix="bench", concurrency=concurrency, loglevel=loglevel, env=env, new_session=True
    )


def broker_keys_purge() -> None:
    """Empty the bus queues and the baseline's counters on this broker DB."""
    queues_purge(extra_patterns=("pz-bench:*",))


def other_workers() -> list[str]:
    replies = app.control.ping(timeout=1.0) or []
    return [name for reply in replies for name in reply]


class Paused:
    """Stop a worker consuming from its queues while work is queued, then let it drain them.

    Throughput is the rate at which a worker empties queues that are already full: what is
    measured is the worker, not the process that fills them (placing an order costs the bench
    process ~15 ms of a core, publishing a bare no-op task ~0.3 ms, and on 2 cores that CPU is
    taken from the worker). `cancel_consumer` / `add_consumer` are Celery's remote controls; a
    queue the worker declared keeps its declaration (RabbitMQ: quorum, topic exchange).
    """

    def __init__(self, control_app, node: str, queues) -> None:
        self.app, self.node, self.queues = control_app, node, list(queues)

    def __enter__(self) -> Paused:
        from tests.polling import wait_until

        for q in self.queues:
            self.app.control.cancel_consumer(q, destination=[self.node], reply=True, timeout=5.0)
        # The reply comes before the worker acts on it (call_soon): wait until it says so.
        wait_until(
            lambda: not (set(self._consuming()) & set(self.queues)),
            timeout=10.0,
            interval=0.05,
            message=f"{self.node} to stop consuming {self.queues}",
        )
        return self

    def _consuming(self) -> list[str]:
        replies = self.app.control.inspect(destination=[self.node], timeout=2.0).active_queues() or {}
        return [q["name"] for q in replies.get(self.node, [])]

    def __exit__(self, *exc) -> None:
        from tests.polling import wait_until

        for q in self.queues:
            self.app.control.add_consumer(q, destination=[self.node], reply=True, timeout=5.0)
        # A worker that consumed from no queue notices the new consumers at its next poll (up to a
        # second): a latency pass started before that would time the worker waking up.
        wait_until(
            lambda: set(self.queues) <= set(self._consuming()),
            timeout=10.0,
            interval=0.05,
            message=f"{self.node} to consume {self.queues} again",
        )

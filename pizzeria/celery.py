"""The Celery app: one queue per handler group, beat runs the bus's sweeper and retention."""

import os
import time
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init
from django.conf import settings
from django.db import connections
from kombu import Exchange, Queue

from pizzeria import brokerfix, gctuning
from pizzeria.observability import tracing
from pizzeria.queues import QUEUES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pizzeria.settings.production")


class CelerySettings(Mapping):
    """Django's CELERY_* settings as a plain dict under Celery's own names, read once.

    `config_from_object("django.conf:settings", namespace="CELERY")` makes every `app.conf` lookup
    go through Django's LazySettings, trying two or three spellings of the key and raising an
    AttributeError for each one that is not set; `apply_async` does ~6 lookups per message. That
    was ~0.1 ms of CPU per published message here (a fifth of Celery's own share of a publish,
    in the order request and in every sweeper re-send). Under the CELERY namespace Celery reads
    only CELERY_ keys, so a snapshot of them is the same configuration, and the rest of Django's
    settings no longer pass through Celery's (celery/celery#5024).

    The keys are Celery's lowercase names (CELERY_TASK_ACKS_LATE -> task_acks_late); a lookup by
    either spelling finds them in one step. Keyed by the Django names, the snapshot made Celery
    call six of them deprecated old-style settings at every worker start (celery/celery#6366:
    CELERY_RESULT_SERIALIZER, CELERY_ACCEPT_CONTENT, ... are also Celery 3's names).
    tests/pizzeria/test_celery.py holds both. Settings do not change at run time; a test
    that overrides a CELERY_ setting must set `app.conf` itself.
    """

    @cached_property
    def _values(self) -> dict:
        return {self.name(key): getattr(settings, key) for key in dir(settings) if key.startswith("CELERY_")}

    @staticmethod
    def name(key: str) -> str:
        return key.removeprefix("CELERY_").lower()

    def __getitem__(self, key: str) -> Any:
        return self._values[self.name(key)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


app = Celery("pizzeria")
app.config_from_object(CelerySettings(), namespace="CELERY")


def task_queues(amqp: bool) -> list[Queue]:
    """Redis: plain queues. RabbitMQ: durable quorum queues (replicated, poison-message safe),
    each on a topic exchange of its own, which Celery's native delayed delivery needs to route a
    countdown retry back to its queue (direct exchanges would hold it in a worker's memory)."""
    if not amqp:
        return [Queue(name) for name in QUEUES]
    return [
        Queue(
            name, Exchange(name, type="topic"), routing_key=name, queue_arguments={"x-queue-type": "quorum"}
        )
        for name in QUEUES
    ]


def broker_is_amqp() -> bool:
    return app.conf.broker_url.split("://", 1)[0] in ("amqp", "amqps", "pyamqp")


@app.on_after_configure.connect
def _declare_queues(sender: Celery, **kwargs: Any) -> None:
    sender.conf.task_queues = task_queues(broker_is_amqp())


def redis_ack_emulation(conf: Any) -> bool:
    """Whether the broker is Redis with kombu's ack emulation on (kombu's default when unset)."""
    if (conf.broker_url or "").split("://", 1)[0] not in ("redis", "rediss", "sentinel"):
        return False
    return bool((conf.broker_transport_options or {}).get("ack_emulation", True))


@app.on_after_configure.connect
def _install_brokerfix(sender: Celery, **kwargs: Any) -> None:
    # Here, not at import: the setting is read once the configuration is (importing this module
    # must not load Django's settings). Workers read it before their first connection.
    brokerfix.install(ack_emulation=redis_ack_emulation(sender.conf))


app.autodiscover_tasks()
# OpenTelemetry in worker pool processes and beat, when the environment turns it on (pizzeria/observability/tracing.py).
tracing.connect_celery_signals()


@worker_init.connect
def _tune_gc(**kwargs: Any) -> None:
    """In the worker's main process, before the pool forks (pizzeria/gctuning.py)."""
    gctuning.tune()


# When the process's previous task ended (prefork: one value per pool process).
_last_task_end = float("-inf")


@task_prerun.connect
def _before_task(**kwargs: Any) -> None:
    """Drop database connections that broke or aged out before a task; health-check after idleness.

    Celery's Django fixup only recycles connections every CELERY_DB_REUSE_MAX tasks, so after a
    database restart a worker would keep failing on a dead connection. Django's own per-request
    hook does what a task needs: close a connection that saw an error and no longer answers, or
    that passed CONN_MAX_AGE, and re-arm CONN_HEALTH_CHECKS (a `SELECT 1` before the first query).
    That check is skipped when this process's previous task ended less than
    DB_HEALTH_CHECK_AFTER_IDLE_SECONDS ago: the connection answered a moment ago (a task that saw a
    connection error had it tested, and closed if dead, by the hook after it), and a database lost
    within that moment is the DatabaseLost retry's case, as during a task. A busy worker so saves one
    round trip per delivery (measured in `make bench`); an idle one checks as before.
    """
    fresh = time.monotonic() - _last_task_end < settings.DB_HEALTH_CHECK_AFTER_IDLE_SECONDS
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:  # a task applied inside a caller's transaction (tests)
            conn.close_if_unusable_or_obsolete()
            if fresh and conn.connection is not None:
                conn.health_check_done = True  # type: ignore[attr-defined]  # Django's private flag, not in the stubs


@task_postrun.connect
def _after_task(**kwargs: Any) -> None:
    """The same clean-up after a task (a connection error is tested, and the connection closed if dead)."""
    global _last_task_end
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()
    _last_task_end = time.monotonic()

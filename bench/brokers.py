"""The worker-side phases on another broker, side by side with the first (`--brokers redis,rabbitmq`).

Each further broker runs in a child `python -m bench` with CELERY_BROKER_URL pointing at it (the
Celery app picks its queues — quorum queues on RabbitMQ — and transport when Django starts, so a
fresh process is the honest way to switch): its own database, its own worker, the same sizes and
rounds, only the worker-side phases (throughput rounds, latency, memory). RabbitMQ gets a vhost of
its own, created before and deleted after, whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
KNOWN = ("redis", "rabbitmq")
WORKER_SIDE_SKIPS = (
    "queries",
    "sweeper",
    "retention",
    "api",
    "tracing",
)  # not the worker's: measured once, on the first broker


def broker_name(url: str) -> str:
    scheme = url.split("://", 1)[0]
    return "rabbitmq" if scheme in ("amqp", "amqps", "pyamqp") else "redis"


def parse_brokers(value: str) -> list[str]:
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in KNOWN]
    if unknown:
        raise ValueError(f"unknown broker(s) {unknown}; choose from {KNOWN}")
    return list(dict.fromkeys(names))


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def rabbitmq_vhost(base_url: str) -> Iterator[str]:
    """A throw-away vhost on the RabbitMQ of base_url (rabbitmqctl on this machine); its amqp:// URL."""
    name = f"pz_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    parts = urlsplit(base_url)
    user = parts.username or "guest"
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with contextlib.suppress(Exception):
            _rabbitmqctl("delete_vhost", name)


def child_argv(args, skip: list[str], out: Path) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "bench",
        "--out",
        str(out),
        "--no-chart",
        "--allow-other-workers",
        "--orders",
        str(args.orders),
        "--noop-tasks",
        str(args.noop_tasks),
        "--concurrency",
        str(args.concurrency),
        "--rate",
        str(args.rate),
        "--latency-seconds",
        str(args.latency_seconds),
        "--warmup",
        str(args.warmup),
        "--rounds",
        str(args.rounds),
        "--memory-deliveries",
        str(args.memory_deliveries),
        "--timeout",
        str(args.timeout),
        "--worker-loglevel",
        args.worker_loglevel,
    ]
    for s in sorted(set(skip) | set(WORKER_SIDE_SKIPS)):
        argv += ["--skip", s]
    return argv


def run_child(name: str, args, *, database_url: str, redis_url: str) -> dict:
    """The worker-side phases with CELERY_BROKER_URL on broker `name`; the child's results."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(rabbitmq_vhost(args.rabbitmq_url)) if name == "rabbitmq" else redis_url
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pz-bench-broker-")))
        out = tmp / "results.json"
        env = {**os.environ, "CELERY_BROKER_URL": url, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        code = subprocess.run(child_argv(args, args.skip, out), cwd=ROOT, env=env).returncode
        if code not in (0, 1) or not out.exists():
            return {"error": f"the {name} run exited with {code}"}
        child = json.loads(out.read_text())
    keep = (
        "broker",
        "celery_broker_url",
        "worker_settings",
        "throughput",
        "commit_to_done_ms",
        "commit_to_done_ms_one_worker",
        "memory",
        "warnings",
        "summary",
    )
    result = {k: child[k] for k in keep if k in child}
    result["loadavg"] = {
        "start": child.get("machine", {}).get("loadavg_at_start"),
        "end": child.get("machine", {}).get("loadavg_at_end"),
    }
    result["broker_version"] = child.get("machine", {}).get("celery_broker")
    return result

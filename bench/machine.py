"""What the run ran on and with: the machine, versions, the bench's settings (for the JSON)."""

from __future__ import annotations

import contextlib
import os
import platform


def redacted(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


def machine_info(db_kind: str) -> dict:
    import celery
    import django
    import kombu
    from django.db import connection

    from bench.tasks import redis_client

    with connection.cursor() as c:
        c.execute("SHOW server_version")
        db_version = c.fetchone()[0]
    info = redis_client().info("server")
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "celery": celery.__version__,
        "kombu": kombu.__version__,  # type: ignore[attr-defined]  # not in kombu's stubs
        "database": f"{db_kind} {db_version}",
        "broker": f"{'valkey' if info.get('valkey_version') else 'redis'} "
        f"{info.get('valkey_version') or info.get('redis_version')}",
        "celery_broker": _celery_broker_version(),
    }


def _celery_broker_version() -> str | None:
    """The Celery broker's product and version (RabbitMQ from its AMQP handshake), if it says."""
    from pizzeria.celery import app

    with contextlib.suppress(Exception), app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
        props = getattr(conn.connection, "server_properties", None)
        if props:
            return f"{props.get('product', 'amqp')} {props.get('version', '')}".strip()
        return conn.transport.driver_name
    return None


def settings_info(args) -> dict:
    from django.conf import settings

    from pizzeria.celery import app

    db = settings.DATABASES["default"]
    return {
        "worker": f"prefork -c {args.concurrency}, --without-mingle --without-gossip, all bus queues",
        "orders": args.orders,
        "noop_tasks": args.noop_tasks,
        "latency_rate": args.rate,
        "latency_seconds": args.latency_seconds,
        "stranded": args.stranded,
        "rounds": args.rounds,
        "memory_deliveries": args.memory_deliveries,
        "brokers": args.brokers,
        "warmup_orders": args.warmup,
        "handlers": "5 no-op handlers for OrderPlaced (kitchen, inventory, notifications, analytics, integrations)",
        "CELERY_DB_REUSE_MAX": app.conf.get("CELERY_DB_REUSE_MAX"),
        "CONN_MAX_AGE": db.get("CONN_MAX_AGE"),
        "task_acks_late": app.conf.task_acks_late,
        "worker_prefetch_multiplier": app.conf.worker_prefetch_multiplier,
        "worker_send_task_events": app.conf.worker_send_task_events,
        "task_send_sent_event": app.conf.task_send_sent_event,
        "EVENTBUS_SWEEP_BATCH": settings.EVENTBUS_SWEEP_BATCH,
        "DEBUG": settings.DEBUG,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL"),
    }

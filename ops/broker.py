"""Queue depths read from the broker: Redis list lengths, or RabbitMQ's passive declare counts."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any, cast

from pizzeria.celery import app
from pizzeria.queues import QUEUES

if TYPE_CHECKING:
    from kombu.connection import ConnectionPool

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class QueueDepth:
    queue: str
    messages: int  # waiting, not yet taken by a worker
    consumers: int | None  # RabbitMQ says; Redis cannot (None)


def queue_depths(queues: tuple[str, ...] | None = None) -> dict[str, QueueDepth] | None:
    """Depth of each queue, or None when the broker does not answer (within ~2 s)."""
    queues = queues or QUEUES
    try:
        pool = cast("ConnectionPool", app.pool)  # celery-types say ProducerPool; it is kombu's ConnectionPool
        with pool.acquire(block=True, timeout=2) as conn:
            if conn.transport.driver_type == "amqp":
                return {q: _amqp_depth(conn, q) for q in queues}
            client = conn.default_channel.client
            pipe = client.pipeline(transaction=False)
            for q in queues:
                pipe.llen(q)
            return {q: QueueDepth(q, int(n), None) for q, n in zip(queues, pipe.execute(), strict=True)}
    except Exception:
        logger.warning("Could not read queue depths from the broker", exc_info=True)
        return None


def _amqp_depth(conn: Any, queue: str) -> QueueDepth:
    channel = conn.channel()  # a missing queue closes the channel it was asked on
    try:
        _, messages, consumers = channel.queue_declare(queue=queue, passive=True)
        return QueueDepth(queue, int(messages), int(consumers))
    except Exception as exc:
        if "NOT_FOUND" not in str(exc) and "404" not in str(exc):
            raise
        return QueueDepth(queue, 0, 0)  # not declared yet: no worker ever consumed it
    finally:
        try:
            channel.close()
        except Exception:  # noqa: S110 - closing is best effort; the answer is already in hand
            pass

"""What the bus needs to know about the broker beyond publishing to it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from django.utils import timezone

from eventbus.celeryapp import celery_app

if TYPE_CHECKING:
    from kombu.connection import ConnectionPool

logger = logging.getLogger(__name__)

# A key the sweeper keeps in the broker's Redis database. It vanishes exactly when the queues
# vanish (a restart without persistence, a flush, a failover to an empty replica); a Redis that
# restarts with its data keeps both the key and the messages.
EPOCH_KEY = "pizzeria:eventbus:broker-epoch"


def broker_lost_messages() -> bool:
    """True once after the broker lost its stored messages (and on the very first sweep).

    Only Redis loses queues this way; RabbitMQ's durable queues keep their messages, so the
    answer there is always False. Broker errors are logged, not raised: the sweep goes on.
    """
    try:
        pool = cast(
            "ConnectionPool", celery_app().pool
        )  # celery-types say ProducerPool; it is kombu's ConnectionPool
        with pool.acquire(block=True, timeout=2) as conn:
            if conn.transport.driver_type != "redis":
                return False
            client = conn.default_channel.client
            return bool(client.set(EPOCH_KEY, timezone.now().isoformat(), nx=True))
    except Exception:
        logger.warning("Could not check the broker's epoch key", exc_info=True)
        return False

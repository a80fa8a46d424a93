"""Live display updates: a small "changed" note on Redis pub/sub after each commit.

Writers (services, handlers) call `board_changed()`; it publishes after the transaction
commits, so a display never re-reads before the change is visible. Publishing never raises:
a display that misses a note catches up on its next message or reconnect.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import redis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

CHANNEL = "pizzeria:kitchen:board"

_client: redis.Redis | None = None
_client_lock = threading.Lock()


def redis_client() -> redis.Redis:
    global _client
    with _client_lock:
        if _client is None:
            _client = redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=1.0, socket_timeout=5.0, health_check_interval=30
            )
        return _client


def board_changed(*, order_id: int | None = None, reason: str = "") -> None:
    """Publish a change note once the current transaction commits (at once outside one)."""
    note = json.dumps({"order_id": order_id, "reason": reason, "at": time.time()})
    transaction.on_commit(lambda: _publish(note))


def _publish(note: str) -> None:
    try:
        redis_client().publish(CHANNEL, note)
    except Exception:
        logger.warning("Could not publish kitchen board change %s", note, exc_info=True)

"""One guarded workaround for a kombu Redis-transport bug that kills workers when Redis dies.

The bug (kombu 5.7.0, same family as celery/kombu#582 and #970, seen with celery/celery#10205):
when the broker connection is lost while a worker holds unacknowledged messages (acks_late), the
consumer closes the kombu Connection first - which sets `transport.client = None` - and then its
channels. Closing a channel restores its unacknowledged messages, which builds a new Redis pool
from `transport.client.hostname` and raises
`AttributeError: 'NoneType' object has no attribute 'hostname'`. Celery treats that as an
unrecoverable error and the worker exits with status 1.

Only the Redis transport's ack emulation reaches this method. The workers run without it
(CELERY_REDIS_ACK_EMULATION, default off: settings/base.py), taking kombu's in-memory QoS, so the
patch is installed only when it is switched on (pizzeria.celery, once the configuration is read):
with it off, kombu runs unpatched.

The fix here skips the restore when the transport is already closed. Nothing is lost: each of
those messages is still in the transport's "unacked" hash in Redis, from where kombu's
restore_visible() brings it back after the visibility timeout, and the delivery row is re-sent
by the sweeper in any case. tests/pizzeria/test_brokerfix.py reproduces the fault with the
original method, so the day a kombu release fixes it, that test fails and this file can go.
"""

from __future__ import annotations

import logging
from typing import Any

import kombu
from kombu.transport import redis as redis_transport

logger = logging.getLogger(__name__)

AFFECTED = ("5.",)  # kombu majors known to have the bug; re-check on every upgrade

original_restore_unacked = redis_transport.QoS.restore_unacked


def _restore_unacked(self: Any, client: Any = None) -> Any:  # self: kombu's redis QoS
    transport = getattr(self.channel, "connection", None)
    if client is None and transport is not None and getattr(transport, "client", None) is None:
        count = len(self._delivered)
        if count:
            logger.warning(
                "Broker connection already closed: %s unacknowledged message(s) left in Redis's "
                "unacked hash for restore_visible (kombu bug, see pizzeria/brokerfix.py)",
                count,
            )
        self._delivered.clear()
        return None
    return original_restore_unacked(self, client)


def install(*, ack_emulation: bool) -> bool:
    """Patch kombu's Redis QoS when `ack_emulation` is on and this kombu has the bug; say if it did."""
    if not ack_emulation or not kombu.__version__.startswith(AFFECTED):  # type: ignore[attr-defined]  # not in kombu's stubs
        return False
    redis_transport.QoS.restore_unacked = _restore_unacked  # type: ignore[method-assign]  # the patch itself
    return True

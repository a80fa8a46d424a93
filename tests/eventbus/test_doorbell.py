"""On Redis the bus runs kombu without its ack emulation: rows are the truth, Redis the doorbell.

A message a worker has taken is then gone from Redis (no "unacked" hash keeps a copy: that
bookkeeping cost two blocking round trips per message in the worker's main process). A worker
killed between taking a message and claiming its delivery loses the message; the delivery row
stays pending and the sweeper re-sends it once it is EVENTBUS_REDISPATCH_AFTER old. With ack
emulation on, kombu brought such a message back only after the visibility timeout (900 s), later
than the sweeper.
"""

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from kombu import Connection, Queue

from eventbus.broker import broker_lost_messages
from eventbus.models import Delivery
from eventbus.outbox import publish_deliveries, queue_for
from eventbus.sweeper import sweep
from pizzeria.celery import app
from pizzeria.redisclient import redis_client
from simulation.workerproc import queues_purge
from tests.factories import make_order

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"), reason="kombu's Redis transport"),
]


@pytest.fixture
def one_published_delivery():
    queues_purge()
    broker_lost_messages()  # the epoch key exists: the sweep below re-sends by age, not by a reset
    order = make_order()  # not a transaction test: the on-commit publish does not run
    delivery = Delivery.objects.filter(event__aggregate_id=str(order.pk)).order_by("pk").first()
    assert publish_deliveries([(delivery.pk, delivery.handler)]) == 1
    yield delivery, queue_for(delivery.handler)
    queues_purge()


def _take_and_die(connection: Connection, queue: str) -> tuple[int, bool]:
    """A worker takes the message (late ack: not acknowledged yet) and is SIGKILLed: no ack, no
    restore at shutdown. Returns the delivery id it carried and whether Redis kept a copy."""
    channel: Any = connection.channel()  # the Redis transport's channel (unacked_key, do_restore)
    message = Queue(queue, channel=channel).get(no_ack=False)
    assert message is not None
    kept = bool(redis_client(settings.CELERY_BROKER_URL).hlen(channel.unacked_key))
    channel.do_restore = False
    channel.close()
    return message.decode()[0][0], kept


def test_a_message_a_killed_worker_took_is_gone_from_redis_and_the_sweeper_rings_again(
    one_published_delivery,
):
    delivery, queue = one_published_delivery
    broker = redis_client(settings.CELERY_BROKER_URL)

    with app.connection_for_read() as connection:  # the transport options the workers run with
        taken, kept = _take_and_die(connection, queue)

    assert taken == delivery.pk
    assert not kept and broker.llen(queue) == 0  # no copy anywhere in Redis: the row is what is left
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    # once the message is EVENTBUS_REDISPATCH_AFTER old, the sweeper re-sends it
    stale = timezone.now() - dt.timedelta(seconds=settings.EVENTBUS_REDISPATCH_AFTER + 1)
    Delivery.objects.filter(pk=delivery.pk).update(enqueued_at=stale)
    assert sweep().redispatched == 1
    assert broker.llen(queue) == 1


def test_with_kombus_default_the_taken_message_waits_in_the_unacked_hash(one_published_delivery):
    # The control: kombu's default keeps a copy per message (what the workers no longer pay for).
    delivery, queue = one_published_delivery
    with Connection(settings.CELERY_BROKER_URL) as connection:
        taken, kept = _take_and_die(connection, queue)
    assert taken == delivery.pk and kept

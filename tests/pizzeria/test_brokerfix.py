"""The kombu Redis-transport bug that killed workers when Redis died (see pizzeria/brokerfix.py)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from kombu import Connection, Producer, Queue

from pizzeria import brokerfix

redis_only = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis"), reason="a bug of kombu's Redis transport"
)


@pytest.fixture
def channel_holding_an_unacked_message():
    """A channel that took a message without acknowledging it (acks_late), whose Connection was
    then closed before the channel: what the worker's consumer does when the broker goes away."""
    conn = Connection(settings.CELERY_BROKER_URL)
    channel = conn.channel()
    queue = Queue(f"brokerfix-{uuid.uuid4().hex[:8]}", channel=channel)
    queue.declare()
    Producer(channel).publish({"delivery": 1}, routing_key=queue.name)
    message = queue.get(no_ack=False)
    assert message is not None
    client = channel.client
    conn._transport.client = None  # Connection.close() does this before the channels are closed
    yield channel, message, client
    client.delete(queue.name)
    client.hdel(channel.qos.unacked_key, message.delivery_tag)
    client.zrem(channel.qos.unacked_index_key, message.delivery_tag)


@redis_only
def test_the_unpatched_restore_crashes_with_the_upstream_error(
    channel_holding_an_unacked_message, monkeypatch
):
    # Reproduces the fault: if this stops raising, kombu fixed it and brokerfix.py can go.
    channel, _, _ = channel_holding_an_unacked_message
    monkeypatch.setattr(type(channel.qos), "restore_unacked", brokerfix.original_restore_unacked)
    with pytest.raises(AttributeError, match="hostname"):
        channel.close()


@redis_only
def test_with_the_workaround_closing_is_clean_and_the_message_stays_restorable(
    channel_holding_an_unacked_message, monkeypatch
):
    channel, message, client = channel_holding_an_unacked_message
    # what install(ack_emulation=True) does (this process runs without ack emulation: unpatched)
    monkeypatch.setattr(type(channel.qos), "restore_unacked", brokerfix._restore_unacked)

    channel.close()  # no AttributeError: the worker would have died here

    # the message was not lost: it is still in the unacked hash, where restore_visible finds it
    assert client.hexists(channel.qos.unacked_key, message.delivery_tag)


ROOT = Path(__file__).resolve().parents[2]

# A fresh process loads the Celery app as a worker does and says whether kombu is patched.
PATCHED = """
import django
django.setup()
from kombu.transport.redis import QoS
from pizzeria import brokerfix
from pizzeria.celery import app
app.conf.broker_url  # reading the configuration fires on_after_configure, as in a worker
print(QoS.restore_unacked is brokerfix._restore_unacked)
"""


def patched_in_a_process(ack_emulation: str) -> bool:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pizzeria.settings.test",
        "CELERY_REDIS_ACK_EMULATION": ack_emulation,
    }
    out = subprocess.run(
        [sys.executable, "-c", PATCHED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1] == "True"


@redis_only
def test_the_workaround_is_installed_only_with_ack_emulation_on():
    assert patched_in_a_process("true") is True
    assert patched_in_a_process("false") is False  # the default: kombu runs unpatched


def test_install_leaves_kombu_alone_without_ack_emulation(monkeypatch):
    from kombu.transport import redis as redis_transport

    monkeypatch.setattr(redis_transport.QoS, "restore_unacked", brokerfix.original_restore_unacked)
    assert brokerfix.install(ack_emulation=False) is False
    assert redis_transport.QoS.restore_unacked is brokerfix.original_restore_unacked
    assert brokerfix.install(ack_emulation=True) is True
    assert redis_transport.QoS.restore_unacked is brokerfix._restore_unacked

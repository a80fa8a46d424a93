"""Probe handlers whose failures the tests script through the event and a Redis key space."""

import contextlib
import os
import signal
import time

import redis
from django.conf import settings

from eventbus import PermanentError, TransientError, event_handler
from tests.polling import wait_until
from tests.testapp.events import ProbeHappened
from tests.testapp.models import SideEffect

PROBE_A = "tests.testapp.handlers.probe_a"
PROBE_B = "tests.testapp.handlers.probe_b"


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def key(event: ProbeHappened, what: str) -> str:
    return f"probe:{event.event_id}:{what}"


@event_handler(ProbeHappened, queue="kitchen", max_attempts=4)
def probe_a(event: ProbeHappened) -> None:
    r = redis_client()
    calls = r.incr(key(event, "calls"))
    r.rpush(key(event, "times"), time.time())
    behaviour = event.behaviour
    if behaviour.startswith("transient:") and calls <= int(behaviour.split(":")[1]):
        raise TransientError(f"scripted transient failure {calls}")
    if behaviour == "permanent" and not r.exists(key(event, "fixed")):
        raise PermanentError("scripted permanent failure")
    if behaviour == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    SideEffect.objects.create(event_id=event.event_id, handler=PROBE_A)
    if behaviour.startswith("slow:"):  # busy for a while, within the time limits
        time.sleep(float(behaviour.split(":")[1]))
    if behaviour == "block":
        # The side effect is written but not committed while we wait: a kill now must lose it.
        r.set(key(event, "started"), os.getpid())
        with contextlib.suppress(AssertionError):  # never released: carry on, as a slow handler
            wait_until(
                lambda: r.exists(key(event, "release")), timeout=60, message="the test to release the handler"
            )


@event_handler(ProbeHappened, queue="analytics")
def probe_b(event: ProbeHappened) -> None:
    SideEffect.objects.create(event_id=event.event_id, handler=PROBE_B)

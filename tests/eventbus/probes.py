from django.db import transaction

from eventbus.models import Delivery
from tests.polling import wait_until
from tests.testapp.events import ProbeHappened
from tests.testapp.handlers import PROBE_A, PROBE_B, key, redis_client
from tests.testapp.models import Probe, SideEffect

__all__ = ["PROBE_A", "PROBE_B", "emit", "delivery", "side_effects", "key", "redis_client", "wait_status"]


def emit(behaviour: str = "ok") -> ProbeHappened:
    """Save a probe aggregate that records one ProbeHappened event; commit."""
    with transaction.atomic():
        probe = Probe.objects.create(name=behaviour)
        event = probe.record(ProbeHappened(behaviour=behaviour))
        probe.save()
    return event


def delivery(event: ProbeHappened, handler: str = PROBE_A) -> Delivery:
    return Delivery.objects.get(event_id=event.event_id, handler=handler)


def side_effects(event: ProbeHappened, handler: str = PROBE_A) -> int:
    return SideEffect.objects.filter(event_id=event.event_id, handler=handler).count()


def wait_status(event: ProbeHappened, status: str, handler: str = PROBE_A, timeout: float = 20.0) -> Delivery:
    def check():
        d = delivery(event, handler)
        return d if d.status == status else None

    try:
        return wait_until(check, timeout=timeout, message=f"{handler} -> {status}")
    except AssertionError:
        d = delivery(event, handler)
        raise AssertionError(
            f"{handler} stayed {d.status} (attempts {d.attempts}, error {d.last_error_class}: {d.last_error})"
        ) from None

"""The handler registry: start-up failures and the catalogue check (every event has a handler)."""

import pytest

from eventbus import registry
from eventbus.events import event_types
from eventbus.registry import HandlerSpec, RegistryError, event_handler
from pizzeria.celery import QUEUES
from tests.testapp.events import ProbeHappened
from tests.testapp.handlers import PROBE_A, PROBE_B


def test_probe_handlers_are_registered_with_their_queues():
    names = {spec.name: spec for spec in registry.handlers_for(ProbeHappened.type)}

    assert set(names) == {PROBE_A, PROBE_B}
    assert names[PROBE_A].queue == "kitchen" and names[PROBE_A].max_attempts == 4
    assert names[PROBE_B].queue == "analytics" and names[PROBE_B].max_attempts is None


def test_unknown_queue_is_refused():
    with pytest.raises(RegistryError, match="unknown queue"):

        @event_handler(ProbeHappened, queue="no-such-queue", name="tests.unknown_queue")
        def handler(event):
            pass

    with pytest.raises(LookupError):
        registry.handler("tests.unknown_queue")


def test_two_handlers_with_one_name_are_refused():
    def first(event):
        pass

    def second(event):
        pass

    registry.register_handler(
        HandlerSpec(name="tests.duplicate", event_type=ProbeHappened.type, func=first, queue="events")
    )
    try:
        with pytest.raises(RegistryError, match="Two handlers"):
            registry.register_handler(
                HandlerSpec(
                    name="tests.duplicate", event_type=ProbeHappened.type, func=second, queue="events"
                )
            )
        assert registry.handler("tests.duplicate").func is first
    finally:
        registry.unregister_handler("tests.duplicate")
    assert "tests.duplicate" not in {s.name for s in registry.handlers_for(ProbeHappened.type)}


def test_registering_the_same_function_twice_is_not_a_conflict():
    def handler(event):
        pass

    spec = HandlerSpec(name="tests.same", event_type=ProbeHappened.type, func=handler, queue="events")
    registry.register_handler(spec)
    try:
        registry.register_handler(spec)  # e.g. the module imported twice by autoreload
        assert [s.name for s in registry.handlers_for(ProbeHappened.type)].count("tests.same") == 1
    finally:
        registry.unregister_handler("tests.same")


def test_event_class_without_type_is_refused():
    from eventbus.events import DomainEvent

    with pytest.raises(RegistryError, match="without a type"):
        event_handler(DomainEvent, queue="events", name="tests.untyped")(lambda event: None)


def test_every_order_and_kitchen_event_has_a_handler_besides_webhooks():
    catalogue = {
        event_type: cls
        for event_type, cls in event_types().items()
        if cls.__module__.split(".")[0] in ("orders", "kitchen")
    }
    assert catalogue, "the order catalogue should be imported at start-up"

    def internal_handlers(event_type: str) -> list:
        return [s for s in registry.handlers_for(event_type) if not s.name.startswith("integrations.")]

    orphans = sorted(cls.__name__ for t, cls in catalogue.items() if not internal_handlers(t))

    assert orphans == []


def test_every_handler_family_resolves_members_on_a_known_queue():
    # register_handler refuses a decorated handler on an unknown queue (test above); a family's
    # members are resolved per delivery and never pass through it.
    specs = [family.resolve(f"{family.prefix}1") for family in registry.all_families()]
    assert specs, "the webhook family should be registered at start-up"

    unknown = [(spec.name, spec.queue) for spec in specs if spec.queue not in QUEUES]

    assert unknown == []

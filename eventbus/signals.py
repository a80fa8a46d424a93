"""The only signal receiver in the code base: aggregates' recorded events go to the outbox."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from eventbus.aggregate import AggregateRoot
from eventbus.outbox import outbox_write


@receiver(post_save, dispatch_uid="eventbus.publish_recorded_events")
def publish_recorded_events(
    sender: type, instance: object, raw: bool = False, using: str | None = None, **kwargs: Any
) -> None:
    if raw or not isinstance(instance, AggregateRoot):
        return
    events = instance.drain_events()
    if events:
        outbox_write(events, using=using or "default")

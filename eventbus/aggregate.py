from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from django.db import models, transaction

from eventbus.events import DomainEvent

E = TypeVar("E", bound=DomainEvent)


class AggregateRoot(models.Model):
    """A model that records domain events; saving it publishes them in the same transaction.

    State-changing methods call `self.record(SomeEvent(...))`; `save()` commits the row and the
    events atomically (the post_save receiver in signals.py writes the outbox). Each recorded
    event bumps `version`, so events carry the aggregate version they produced.
    """

    aggregate_type: str = ""
    version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The row and its events commit together. Inside a caller's transaction no savepoint is
        # needed for that (a failure rolls the caller's transaction back with it) and would cost
        # two round trips per save.
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            super().save(*args, **kwargs)

    def record(self, event: E) -> E:
        self.version += 1
        event = dataclasses.replace(
            event,
            aggregate_type=self.aggregate_type or self._meta.label_lower,
            aggregate_id=str(self.pk) if self.pk is not None else "",
            aggregate_version=self.version,
        )
        self._recorded_events().append(event)
        return event

    def _recorded_events(self) -> list[DomainEvent]:
        if "_pending_events" not in self.__dict__:
            self.__dict__["_pending_events"] = []
        return self.__dict__["_pending_events"]

    @property
    def pending_events(self) -> tuple[DomainEvent, ...]:
        """Events recorded but not yet saved (inspectable in tests)."""
        return tuple(self._recorded_events())

    def drain_events(self) -> list[DomainEvent]:
        events = self._recorded_events()
        drained = [e if e.aggregate_id else dataclasses.replace(e, aggregate_id=str(self.pk)) for e in events]
        events.clear()
        return drained

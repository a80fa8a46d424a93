from django.db import models

from eventbus.aggregate import AggregateRoot


class Probe(AggregateRoot):
    aggregate_type = "probe"
    name = models.CharField(max_length=100)


class SideEffect(models.Model):
    """One row per committed handler run: duplicates here mean a side effect happened twice."""

    event_id = models.UUIDField()
    handler = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

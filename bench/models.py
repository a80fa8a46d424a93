from __future__ import annotations

from typing import ClassVar

from django.db import models


class BenchNote(models.Model):
    """The API phase's minimal create: one row, one column (the floor of DRF + the database)."""

    text = models.CharField(max_length=200)

    # Declared for the type checker: the bench app is not installed in the settings mypy loads.
    objects: ClassVar[models.Manager[BenchNote]] = models.Manager()

from django.db import models


class BenchNote(models.Model):
    """The API phase's minimal create: one row, one column (the floor of DRF + the database)."""

    text = models.CharField(max_length=200)

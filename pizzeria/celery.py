"""The Celery app: one queue per handler group, beat runs the bus's sweeper and retention."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pizzeria.settings.production")

# Every queue a handler may name. `events` carries bus maintenance (sweeper, retention).
QUEUES = ("events", "kitchen", "inventory", "notifications", "analytics", "integrations")

app = Celery("pizzeria")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in QUEUES]


app.autodiscover_tasks()

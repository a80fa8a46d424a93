"""Every queue a handler may name; `events` carries bus maintenance (sweeper, retention).

A module of constants that imports nothing: the handler registry and the Celery app both read it,
so importing the registry builds no Celery app.
"""

QUEUES = ("events", "kitchen", "inventory", "notifications", "analytics", "integrations")
# The task every delivery message runs; publishers look it up by name (no import of tasks.py).
RUN_DELIVERY = "eventbus.run_delivery"

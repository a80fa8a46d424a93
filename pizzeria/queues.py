"""Every queue of the project (one per handler group; `events` carries the bus's own work: the
sweeper, retention). A module of constants that imports nothing: the Celery app declares these
queues, the bus's registry refuses a handler on any other, and neither import builds the other."""

QUEUES = ("events", "kitchen", "inventory", "notifications", "analytics", "integrations")

"""Discard, and log, open or dead deliveries whose handler no longer exists.

An upgraded shop keeps deliveries of handlers this code no longer has (the per-type webhook
handlers "integrations.webhooks.<Event>" replaced by one per subscription, "integrations.webhook.<id>"):
they could only go dead with "no handler", one attempt each, and fill the dead-letter store.
"Exists" is asked of the running code's registry: a registered handler, or a name under a handler
family's prefix (a family member whose subscription is gone is the family's own business).
Running deliveries are left alone: an old worker of a rolling upgrade may still hold one.
"""

from __future__ import annotations

import logging
from collections import Counter

from django.apps.registry import Apps as StateApps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.utils import timezone

logger = logging.getLogger("eventbus.migrations")

ORPHAN_STATUSES = ("pending", "retrying", "dead")


def known(name: str) -> bool:
    from eventbus import registry

    names = {spec.name for spec in registry.all_handlers()}
    return name in names or any(name.startswith(f.prefix) for f in registry.all_families())


def discard_orphans(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> Counter:
    Delivery = apps.get_model("eventbus", "Delivery")
    db = schema_editor.connection.alias
    handlers = (Delivery.objects.using(db).filter(status__in=ORPHAN_STATUSES)
                .order_by().values_list("handler", flat=True).distinct())
    orphans = sorted(name for name in handlers if not known(name))
    discarded: Counter = Counter()
    now = timezone.now()
    for name in orphans:
        discarded[name] = Delivery.objects.using(db).filter(handler=name, status__in=ORPHAN_STATUSES).update(
            status="discarded", finished_at=now, updated_at=now, last_error=f"Discarded on upgrade: no handler named {name!r}"[:1000]
        )
        logger.warning("Discarded %s deliveries of %s: no such handler any more", discarded[name], name)
    return discarded


class Migration(migrations.Migration):
    dependencies = [("eventbus", "0003_attempt_detail")]

    # RunPython ignores the return value; the test reads the counts.
    operations = [migrations.RunPython(discard_orphans, migrations.RunPython.noop, elidable=True)]  # type: ignore[arg-type]

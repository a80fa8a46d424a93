"""List, replay or discard dead deliveries from a shell (the admin's dead-letter page, for ops).

    manage.py deadletters list [--handler H] [--event-type T]
    manage.py deadletters replay --id 12 --id 13
    manage.py deadletters replay --handler notifications.handlers.sms_order_confirmation
    manage.py deadletters discard --all
    manage.py deadletters groups
    manage.py deadletters replay --group 3f2a9c01b7de

replay and discard refuse to run without --id, a filter or --all, so a bare command never acts on
every dead letter by accident.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils.text import Truncator
from tqdm import tqdm

from eventbus.models import Delivery
from eventbus.services import delivery_discard, delivery_replay
from ops.failures import failure_group, failure_groups

CHUNK = 200
COLUMNS = ("id", "handler", "event type", "attempts", "error class", "last error", "updated")


class Command(BaseCommand):
    help = "List, replay or discard dead deliveries (dead letters)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=("list", "groups", "replay", "discard"))
        parser.add_argument("--handler", help="only this handler (its full name)")
        parser.add_argument("--event-type", dest="event_type", help="only this CloudEvents type")
        parser.add_argument(
            "--id", dest="ids", action="append", type=int, default=[], help="a delivery id (repeatable)"
        )
        parser.add_argument(
            "--group", help="every dead letter of this failure group (an id shown by `groups`)"
        )
        parser.add_argument("--all", action="store_true", help="every dead letter (replay/discard)")
        parser.add_argument("--limit", type=int, default=100, help="rows shown by list (default 100)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "groups":
            self._groups()
            return
        if options["group"]:
            group = failure_group(options["group"])
            if group is None:
                raise CommandError(f"No failure group {options['group']!r} (run `deadletters groups`)")
            options["ids"] = [*options["ids"], *group.delivery_ids]
        queryset = self._select(options)
        if action == "list":
            self._list(queryset, limit=options["limit"])
            return
        if not (options["ids"] or options["handler"] or options["event_type"] or options["all"]):
            raise CommandError(f"{action} needs --id, --group, --handler, --event-type or --all")
        actor = "manage.py deadletters"
        if action == "replay":
            self._replay(queryset, actor=actor, progress=not options["no_progress"])
        else:
            count = delivery_discard(deliveries=list(queryset), actor=actor)
            self.stdout.write(self.style.SUCCESS(f"{count} dead deliveries discarded"))

    def _groups(self) -> None:
        groups = failure_groups(with_tracebacks=False)
        for g in groups:
            self.stdout.write(
                f"{g.id}  {g.count:>5}  {g.handler}  {g.error_class}\n"
                f"              first {g.first_seen:%Y-%m-%d %H:%M:%S}  last {g.last_seen:%Y-%m-%d %H:%M:%S}  "
                f"{Truncator(g.message).chars(100)}"
            )
        self.stdout.write(f"{len(groups)} failure groups, {sum(g.count for g in groups)} dead deliveries")

    def _select(self, options: dict) -> QuerySet[Delivery]:
        queryset = Delivery.objects.filter(status=Delivery.Status.DEAD).select_related("event")
        if options["ids"]:
            queryset = queryset.filter(pk__in=options["ids"])
        if options["handler"]:
            queryset = queryset.filter(handler=options["handler"])
        if options["event_type"]:
            queryset = queryset.filter(event__type=options["event_type"])
        return queryset.order_by("pk")

    def _list(self, queryset: QuerySet[Delivery], *, limit: int) -> None:
        total = queryset.count()
        rows = [
            (
                str(d.pk),
                d.handler,
                d.event.type,
                str(d.attempts),
                d.last_error_class,
                Truncator(" ".join(d.last_error.split())).chars(60),
                d.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
            for d in queryset[:limit]
        ]
        widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(COLUMNS)]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        self.stdout.write(line.format(*COLUMNS))
        self.stdout.write(line.format(*("-" * w for w in widths)))
        for row in rows:
            self.stdout.write(line.format(*row))
        shown = f"{len(rows)} of {total}" if total > len(rows) else str(total)
        self.stdout.write(f"{shown} dead deliveries")

    def _replay(self, queryset: QuerySet[Delivery], *, actor: str, progress: bool) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        replayed = 0
        # The bar goes to the real stderr: Django's OutputWrapper adds a newline to every write.
        # One transaction (and one publish) per chunk, so a huge backlog never holds row locks
        # for long and a crash halfway leaves the rest dead, ready for the next run.
        with tqdm(total=len(ids), unit="delivery", disable=not progress, file=sys.stderr) as bar:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                replayed += delivery_replay(deliveries=Delivery.objects.filter(pk__in=chunk), actor=actor)
                bar.update(len(chunk))
        skipped = len(ids) - replayed
        summary = f"{replayed} dead deliveries replayed"
        if skipped:
            summary += f"; {skipped} skipped (no longer dead)"
        self.stdout.write(self.style.SUCCESS(summary))

"""python manage.py stubcheck demo-stub.jsonl — the fault stub's log against our records.

For a `simulate --stub-log FILE` run: every message the stub accepted is matched with the
notification row that holds its id; a notification with more than one accepted message is a
duplicate the customer got. SMS are matched by (To, Body), e-mail by the notification_id custom_arg.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eventbus.models import DeliveryAttempt
from notifications.models import Notification


class Command(BaseCommand):
    help = "Compare a fault stub log (simulate --stub-log) with the notification rows and attempt log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stub_log")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with open(options["stub_log"]) as log:
                calls = [json.loads(line) for line in log if line.strip()]
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        if not calls:
            raise CommandError("The stub log is empty")
        for key, value in check(calls).items():
            self.stdout.write(f"{key:<48} {value}")


def check(calls: list[dict]) -> dict[str, Any]:
    start = dt.datetime.fromtimestamp(min(c["at"] for c in calls), tz=dt.UTC) - dt.timedelta(seconds=5)
    end = dt.datetime.fromtimestamp(max(c.get("answered_at", c["at"]) for c in calls), tz=dt.UTC)
    sends = [c for c in calls if c.get("method", "POST") == "POST"]
    lookups = [c for c in calls if c.get("method") == "GET"]
    accepted = [c for c in sends if c.get("message_id")]
    rows = Notification.objects.filter(created_at__gte=start, created_at__lte=end).exclude(provider="console")
    by_id = dict(rows.exclude(provider_message_id="").values_list("provider_message_id", "pk"))
    sms_rows = {(r.recipient, r.body): r.pk for r in rows.filter(channel="sms")}
    sms_pks = set(sms_rows.values())
    per_row: dict[int | None, list[str]] = defaultdict(list)
    for c in accepted:
        body = c["body"]
        if c["provider"] == "twilio":
            pk = sms_rows.get((body.get("To"), body.get("Body")))
        else:
            args = (body.get("personalizations") or [{}])[0].get("custom_args") or {}
            pk = int(args["notification_id"]) if args.get("notification_id") else None
        per_row[pk].append(c["message_id"])
    duplicates = {pk: ids for pk, ids in per_row.items() if pk is not None and len(ids) > 1}
    attempts = DeliveryAttempt.objects.filter(
        delivery__handler__startswith="notifications.", started_at__gte=start, started_at__lte=end
    )
    errors = Counter(attempts.values_list("error_class", flat=True))
    return {
        "notification rows (twilio/sendgrid)": rows.count(),
        "  sent (with a provider id)": len(by_id),
        "  reconciled (id found at Twilio, not re-sent)": rows.exclude(reconciled_at=None).count(),
        "  with an unknown outcome": rows.filter(unknown_outcomes__gt=0).count(),
        "stub sends (POST)": len(sends),
        "  accepted": len(accepted),
        "  accepted by twilio / sendgrid": (
            f"{sum(c['provider'] == 'twilio' for c in accepted)} / {sum(c['provider'] == 'sendgrid' for c in accepted)}"
        ),
        "  failed on purpose (5xx)": sum(1 for c in sends if (c.get("status") or 0) >= 500),
        "  answered late (after the client's timeout)": sum(1 for c in sends if c.get("late")),
        "  lost (no answer, nothing taken)": sum(1 for c in sends if c.get("lost")),
        "stub lookups (GET Messages.json)": len(lookups),
        "  answered with messages to that number": sum(1 for c in lookups if c.get("found")),
        "  lookups failed on purpose (5xx)": sum(1 for c in lookups if (c.get("status") or 0) >= 500),
        "accepted ids held by a notification row": sum(1 for c in accepted if c["message_id"] in by_id),
        "accepted ids held by none": sum(1 for c in accepted if c["message_id"] not in by_id),
        "accepted messages matched to no row": len(per_row.get(None, [])),
        "notifications with >1 accepted message": len(duplicates),
        "  of them SMS / e-mail": (
            f"{sum(1 for pk in duplicates if pk in sms_pks)} / {sum(1 for pk in duplicates if pk not in sms_pks)}"
        ),
        "attempts (notifications handlers) succeeded": errors.pop("", 0),
        "attempts failed, by error class": dict(errors) or "-",
    }

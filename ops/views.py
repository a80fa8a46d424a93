"""The ops screen at /admin/ops/: per queue and handler, the workers online, the failure groups.

Read-only for anyone holding eventbus.view_delivery (manager, admin); replaying or discarding a
failure group needs eventbus.change_delivery, like the dead-letter actions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from eventbus import registry
from ops.broker import queue_depths
from ops.failures import failure_groups, group_discard, group_replay
from ops.stats import backlog_by_queue, finished_by_handler, open_by_handler
from ops.workers import workers_online
from pizzeria.queues import QUEUES
from pizzeria.security.permissions import has_any_perm, permission_required

VIEW_PERMISSION = "eventbus.view_delivery"
OPERATE_PERMISSION = "eventbus.change_delivery"


@dataclasses.dataclass
class HandlerRow:
    handler: str
    queue: str
    last5: int
    last60: int
    failure_rate: float | None
    p95: float | None
    open: int
    running: int
    oldest_age: float | None
    dead: int
    dead_url: str


def screen_data(now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    opened = open_by_handler(now)
    last5, last60 = finished_by_handler(5, now), finished_by_handler(60, now)
    depths = queue_depths()
    backlogs = backlog_by_queue(opened, depths, now)
    workers = workers_online()
    consuming = {q for w in workers or [] for q in w["queues"]}
    names = sorted({s.name for s in registry.all_handlers()} | set(opened) | set(last60))
    handlers = []
    for name in names:
        o = opened.get(name)
        w5, w60 = last5.get(name), last60.get(name)
        handlers.append(
            HandlerRow(
                handler=name,
                queue=o.queue if o else registry.queue_of(name),
                last5=w5.finished if w5 else 0,
                last60=w60.finished if w60 else 0,
                failure_rate=w60.failure_rate if w60 else None,
                p95=w60.p95_seconds if w60 else None,
                open=(o.pending + o.retrying + o.running) if o else 0,
                running=o.running if o else 0,
                oldest_age=(now - o.oldest_open).total_seconds() if o and o.oldest_open else None,
                dead=o.dead if o else 0,
                dead_url=reverse("admin:eventbus_deadletter_changelist") + "?" + urlencode({"handler": name}),
            )
        )
    threshold = settings.OPS_OLDEST_AGE_WARNING_SECONDS
    queues, warnings = [], []
    for queue in QUEUES:
        b = backlogs[queue]
        age = b.oldest_age(now)
        no_consumer = (
            (b.consumers == 0)
            if b.consumers is not None
            else (workers is not None and queue not in consuming)
        )
        if no_consumer and b.backlog:
            warnings.append(f"Queue {queue}: no consumer, {b.backlog} waiting")
        elif no_consumer:
            warnings.append(f"Queue {queue}: no consumer")
        if age > threshold:
            warnings.append(f"Queue {queue}: oldest due delivery waited {age:.0f} s (over {threshold:.0f} s)")
        mine = [h for h in handlers if h.queue == queue]
        queues.append(
            {
                "name": queue,
                "waiting": b.waiting,
                "running": b.running,
                "backlog": b.backlog,
                "oldest_age": age,
                "no_consumer": no_consumer,
                "consumers": b.consumers,
                "last5": sum(h.last5 for h in mine),
                "last60": sum(h.last60 for h in mine),
                "dead": sum(h.dead for h in mine),
            }
        )
    if depths is None:
        warnings.insert(0, "The broker did not answer: waiting counts are the due rows")
    if workers is None:
        warnings.insert(0, "The workers did not answer (inspect)")
    return {
        "now": now,
        "queues": queues,
        "handlers": handlers,
        "workers": workers or [],
        "warnings": warnings,
        "groups": failure_groups(),
        "threshold": threshold,
    }


@permission_required(VIEW_PERMISSION, message="The ops screen needs the eventbus.view_delivery permission.")
@require_http_methods(["GET", "HEAD"])
def ops_screen(request: HttpRequest) -> HttpResponse:
    data = screen_data()
    data["can_operate"] = has_any_perm(request.user, (OPERATE_PERMISSION,))
    data["refresh_seconds"] = settings.OPS_REFRESH_SECONDS
    data["title"] = "Operations"
    template = "ops/_body.html" if request.GET.get("partial") == "1" else "ops/screen.html"
    return render(request, template, data)


@permission_required(VIEW_PERMISSION, message="The ops screen needs the eventbus.view_delivery permission.")
@require_POST
def group_action(request: HttpRequest, group: str, action: str) -> HttpResponse:
    if not has_any_perm(request.user, (OPERATE_PERMISSION,)):
        raise PermissionDenied(f"Replaying or discarding needs the {OPERATE_PERMISSION} permission.")
    actor = request.user.get_username()
    count = group_replay(group, actor=actor) if action == "replay" else group_discard(group, actor=actor)
    if count is None:
        messages.warning(
            request, "That failure group has no dead letters any more (replayed or discarded meanwhile)."
        )
    else:
        verb = "replayed" if action == "replay" else "discarded"
        messages.success(request, f"{count} dead deliveries {verb}.")
    return HttpResponseRedirect(reverse("ops:screen"))

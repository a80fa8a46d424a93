"""Prometheus metrics for the bus, read from the rows at scrape time.

The rows are the truth, so a collector that counts them is correct across any number of web and
worker processes without prometheus-client's multiprocess mode.

Cheap by construction: one GROUP BY over the deliveries that are open or dead — a small set the
(status, finished_at) index finds — never over the succeeded rows that make up most of the
table. And not public: a scraper sends `Authorization: Bearer <METRICS_TOKEN>`, a person signs
in with eventbus.view_delivery (handler names and backlogs are reconnaissance for an attacker).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from pizzeria.eventbus.models import Delivery

OPEN = (Delivery.Status.PENDING, Delivery.Status.RETRYING, Delivery.Status.RUNNING)
COUNTED = (*OPEN, Delivery.Status.DEAD)
METRICS_PERMISSION = "eventbus.view_delivery"


class DeliveryCollector:
    def collect(self):
        by_status = GaugeMetricFamily(
            "eventbus_deliveries",
            "Open (pending, retrying, running) and dead deliveries by handler and status",
            labels=["handler", "status"],
        )
        oldest = GaugeMetricFamily(
            "eventbus_oldest_open_delivery_age_seconds",
            "Age of the oldest delivery not yet finished, per handler",
            labels=["handler"],
        )
        now = timezone.now()
        first_open: dict[str, object] = {}
        rows = (
            Delivery.objects.filter(status__in=COUNTED)
            .values("handler", "status")
            .annotate(n=Count("pk"), first=Min("created_at"))
            .order_by()
        )
        for row in rows:
            by_status.add_metric([row["handler"], row["status"]], row["n"])
            if row["status"] in OPEN:
                seen = first_open.get(row["handler"])
                first_open[row["handler"]] = row["first"] if seen is None else min(seen, row["first"])
        for handler, first in first_open.items():
            oldest.add_metric([handler], (now - first).total_seconds())
        yield by_status
        yield oldest


def _bearer_ok(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _bearer_ok(request):
        user = request.user
        if not user.is_authenticated:
            response = JsonResponse({"detail": "Metrics need a bearer token (METRICS_TOKEN) or a staff login."}, status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if not (user.is_active and user.has_perm(METRICS_PERMISSION)):
            return JsonResponse({"detail": f"Metrics need the {METRICS_PERMISSION} permission."}, status=403)
    registry = CollectorRegistry()
    registry.register(DeliveryCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

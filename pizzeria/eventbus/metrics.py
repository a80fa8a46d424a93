"""Prometheus metrics for the bus, read from the rows at scrape time.

The rows are the truth, so a collector that counts them is correct across any number of web and
worker processes without prometheus-client's multiprocess mode.
"""

from __future__ import annotations

from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from pizzeria.eventbus.models import Delivery

OPEN = (Delivery.Status.PENDING, Delivery.Status.RETRYING, Delivery.Status.RUNNING)


class DeliveryCollector:
    def collect(self):
        by_status = GaugeMetricFamily(
            "eventbus_deliveries", "Deliveries by handler and status", labels=["handler", "status"]
        )
        rows = Delivery.objects.values("handler", "status").annotate(n=Count("pk")).order_by()
        for row in rows:
            by_status.add_metric([row["handler"], row["status"]], row["n"])
        yield by_status

        oldest = GaugeMetricFamily(
            "eventbus_oldest_open_delivery_age_seconds",
            "Age of the oldest delivery not yet finished, per handler",
            labels=["handler"],
        )
        now = timezone.now()
        open_rows = (
            Delivery.objects.filter(status__in=OPEN).values("handler").annotate(first=Min("created_at")).order_by()
        )
        for row in open_rows:
            oldest.add_metric([row["handler"]], (now - row["first"]).total_seconds())
        yield oldest


def metrics_view(request: HttpRequest) -> HttpResponse:
    registry = CollectorRegistry()
    registry.register(DeliveryCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

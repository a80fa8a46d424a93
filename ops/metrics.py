"""The ecosystem's metric names at /metrics, from the shared Redis counters, the rows and the broker.

| metric | source |
|---|---|
| eventbus_deliveries_total{handler,queue,outcome}, eventbus_retries_total, eventbus_delivery_duration_seconds, eventbus_publish_errors_total{path,error}, orders_placed_total, django_http_requests_total, django_http_request_duration_seconds | Redis counters (counters.py), written by every process |
| eventbus_dead_letters{handler}, eventbus_oldest_open_age_seconds{queue,handler} | rows (one GROUP BY over the unfinished and dead set) |
| celery_queue_length{queue}, celery_queue_consumers{queue} (RabbitMQ) | the broker |
| eventbus_queue_backlog{queue}, eventbus_queue_oldest_due_age_seconds{queue} | broker + rows: the autoscaling signal |

A scrape costs one GROUP BY, one count of due rows, one Redis round trip and one broker round trip
per queue on RabbitMQ (one pipelined round trip on Redis). Every number is so correct across any
number of web and worker processes and machines without prometheus-client's multiprocess mode.

Not public: a scraper sends `Authorization: Bearer <METRICS_TOKEN>`, a person signs in with
eventbus.view_delivery (handler names and backlogs are reconnaissance for an attacker).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from ops.broker import queue_depths
from ops.stats import backlog_by_queue, open_by_handler
from pizzeria.observability import counters

METRICS_PERMISSION = "eventbus.view_delivery"


def _bearer_ok(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _bearer_ok(request):
        user = request.user
        if not user.is_authenticated:
            response = JsonResponse(
                {"detail": "Metrics need a bearer token (METRICS_TOKEN) or a staff login."}, status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if not (user.is_active and user.has_perm(METRICS_PERMISSION)):
            return JsonResponse({"detail": f"Metrics need the {METRICS_PERMISSION} permission."}, status=403)
    registry = CollectorRegistry()
    registry.register(OpsCollector())  # DeliveryCollector's gauges too, from the same one query
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class OpsCollector:
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from self._counters()
        opened = open_by_handler(now)
        # The gauges /metrics had before (kept for existing dashboards), from the same query.
        by_status = GaugeMetricFamily(
            "eventbus_deliveries",
            "Open (pending, retrying, running) and dead deliveries by handler and status",
            labels=["handler", "status"],
        )
        oldest_legacy = GaugeMetricFamily(
            "eventbus_oldest_open_delivery_age_seconds",
            "Age of the oldest delivery not yet finished, per handler",
            labels=["handler"],
        )
        for entry in opened.values():
            for status in ("pending", "retrying", "running", "dead"):
                if getattr(entry, status):
                    by_status.add_metric([entry.handler, status], getattr(entry, status))
            if entry.oldest_open is not None:
                oldest_legacy.add_metric([entry.handler], (now - entry.oldest_open).total_seconds())
        yield by_status
        yield oldest_legacy
        dead = GaugeMetricFamily(
            "eventbus_dead_letters", "Dead deliveries waiting for a replay or discard", labels=["handler"]
        )
        oldest = GaugeMetricFamily(
            "eventbus_oldest_open_age_seconds",
            "Age of the oldest unfinished delivery",
            labels=["queue", "handler"],
        )
        for entry in opened.values():
            dead.add_metric([entry.handler], entry.dead)
            if entry.oldest_open is not None:
                oldest.add_metric([entry.queue, entry.handler], (now - entry.oldest_open).total_seconds())
        yield dead
        yield oldest

        depths = queue_depths()
        up = GaugeMetricFamily("celery_broker_up", "1 when the broker answered this scrape")
        up.add_metric([], 1 if depths is not None else 0)
        yield up
        length = GaugeMetricFamily("celery_queue_length", "Messages waiting in the broker", labels=["queue"])
        consumers = GaugeMetricFamily(
            "celery_queue_consumers", "Consumers attached to the queue (RabbitMQ only)", labels=["queue"]
        )
        for depth in (depths or {}).values():
            length.add_metric([depth.queue], depth.messages)
            if depth.consumers is not None:
                consumers.add_metric([depth.queue], depth.consumers)
        yield length
        yield consumers

        backlog = GaugeMetricFamily(
            "eventbus_queue_backlog",
            "Messages waiting + deliveries running, per queue (scale the pool on this)",
            labels=["queue"],
        )
        due_age = GaugeMetricFamily(
            "eventbus_queue_oldest_due_age_seconds",
            "How long the oldest due, unclaimed delivery of the queue has waited",
            labels=["queue"],
        )
        for item in backlog_by_queue(opened, depths, now).values():
            backlog.add_metric([item.queue], item.backlog)
            due_age.add_metric([item.queue], item.oldest_age(now))
        yield backlog
        yield due_age

    def _counters(self) -> Iterator[Metric]:
        raw = counters.read()
        if raw is None:
            return
        yield _counter(
            "eventbus_deliveries",
            "Delivery attempts run by the workers, by outcome",
            ["handler", "queue", "outcome"],
            raw["deliveries_total"],
        )
        yield _counter(
            "eventbus_retries",
            "Attempts that failed and scheduled a retry",
            ["handler", "queue"],
            raw["retries_total"],
        )
        yield _histogram(
            "eventbus_delivery_duration_seconds",
            "Time a worker spent on one delivery attempt",
            "handler",
            raw["delivery_duration"],
        )
        yield _counter(
            "eventbus_publish_errors",
            "Publishes that failed for a reason other than the broker "
            "(path=fast: sent through apply_async instead; path=apply_async: left to the sweeper)",
            ["path", "error"],
            raw["publish_errors_total"],
        )
        yield _counter("orders_placed", "Orders placed (committed)", [], {"": raw["orders_placed_total"][""]})
        yield _counter(
            "django_http_requests",
            "HTTP responses by view, method and status",
            ["view", "method", "status"],
            raw["http_requests_total"],
        )
        yield _histogram(
            "django_http_request_duration_seconds",
            "Time to the response, by view",
            "view",
            raw["http_duration"],
        )


def _counter(name: str, doc: str, labels: list[str], stored: dict[str, str]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for field, value in stored.items():
        family.add_metric(field.split(counters.SEP) if labels else [], float(value))
    return family


def _histogram(name: str, doc: str, label: str, stored: dict[str, str]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=[label])
    for value, (buckets, total_sum, _count) in counters.histogram_rows(stored).items():
        family.add_metric([value], buckets, total_sum)
    return family

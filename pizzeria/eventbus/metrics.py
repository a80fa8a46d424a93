"""/metrics: the collector is pizzeria.ops.metrics.OpsCollector (what each metric is read from).

Gauges of the bus come from the rows, counters from the shared Redis hashes, queue lengths from
the broker, so every number is correct across any number of web and worker processes and
machines without prometheus-client's multiprocess mode.

Cheap by construction: one GROUP BY over the deliveries that are open or dead — a small set the
(status, finished_at) index finds — never over the succeeded rows that make up most of the
table; one Redis round trip; one broker round trip. And not public: a scraper sends
`Authorization: Bearer <METRICS_TOKEN>`, a person signs in with eventbus.view_delivery (handler names and backlogs are reconnaissance for an attacker).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

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
    from pizzeria.ops.metrics import OpsCollector

    registry = CollectorRegistry()
    registry.register(OpsCollector())  # DeliveryCollector's gauges too, from the same one query
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

"""/metrics in the ecosystem's names: a known workload gives known values."""

import datetime as dt

import pytest
from django.utils import timezone

from eventbus.models import Delivery
from ops import metrics as ops_metrics
from ops.broker import QueueDepth
from pizzeria.observability import counters
from tests.eventbus import rows
from tests.testapp.handlers import PROBE_A

pytestmark = pytest.mark.django_db
SECRET = "scrape-secret-0123456789"


def scrape(client, settings) -> dict[str, float]:
    settings.METRICS_TOKEN = SECRET
    return metrics_samples(client, SECRET)


def metrics_samples(client, token: str) -> dict[str, float]:
    """Every sample of /metrics: {'name{labels}': value} (this process's batched counts sent first)."""
    counters.flush()
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    samples = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_counters_histogram_and_orders_from_the_shared_redis(client, settings):
    for seconds, outcome in [(0.02, "succeeded"), (0.3, "retrying"), (0.2, "succeeded"), (3.0, "dead")]:
        counters.delivery_recorded(handler="h.sms", queue="notifications", outcome=outcome, seconds=seconds)
    for _ in range(4):
        counters.order_placed()

    m = scrape(client, settings)

    assert m['eventbus_deliveries_total{handler="h.sms",outcome="succeeded",queue="notifications"}'] == 2
    assert m['eventbus_deliveries_total{handler="h.sms",outcome="dead",queue="notifications"}'] == 1
    assert m['eventbus_retries_total{handler="h.sms",queue="notifications"}'] == 1
    assert m['eventbus_delivery_duration_seconds_bucket{handler="h.sms",le="0.025"}'] == 1
    assert m['eventbus_delivery_duration_seconds_bucket{handler="h.sms",le="0.25"}'] == 2
    assert m['eventbus_delivery_duration_seconds_bucket{handler="h.sms",le="+Inf"}'] == 4
    assert m['eventbus_delivery_duration_seconds_count{handler="h.sms"}'] == 4
    assert m['eventbus_delivery_duration_seconds_sum{handler="h.sms"}'] == pytest.approx(3.52)
    assert m["orders_placed_total"] == 4


def test_http_requests_are_counted_by_view_name_not_path(client, settings):
    client.get("/healthz")
    client.get("/no/such/page/4711")

    m = scrape(client, settings)

    assert m['django_http_requests_total{method="GET",status="200",view="healthz"}'] == 1
    assert m['django_http_requests_total{method="GET",status="404",view="<unmatched>"}'] == 1
    assert not any("4711" in k for k in m)


def test_backlog_and_queue_length_for_the_autoscaler(client, settings, monkeypatch):
    depths = {
        q: QueueDepth(q, 0, 1)
        for q in ("events", "kitchen", "inventory", "notifications", "analytics", "integrations")
    }
    depths["kitchen"] = QueueDepth("kitchen", 5, 0)
    monkeypatch.setattr(ops_metrics, "queue_depths", lambda: depths)
    for _ in range(2):
        rows.delivery(handler=PROBE_A, status=Delivery.Status.RUNNING)
    rows.dead(handler=PROBE_A)

    m = scrape(client, settings)

    assert m['celery_queue_length{queue="kitchen"}'] == 5
    assert m['celery_queue_consumers{queue="kitchen"}'] == 0
    assert m['eventbus_queue_backlog{queue="kitchen"}'] == 7  # 5 waiting + 2 running
    assert m['eventbus_queue_backlog{queue="analytics"}'] == 0
    assert m[f'eventbus_dead_letters{{handler="{PROBE_A}"}}'] == 1
    assert f'eventbus_oldest_open_age_seconds{{handler="{PROBE_A}",queue="kitchen"}}' in m
    assert m["celery_broker_up"] == 1


def test_a_broker_that_does_not_answer_is_a_zero_not_an_error(client, settings, monkeypatch):
    monkeypatch.setattr(ops_metrics, "queue_depths", lambda: None)
    rows.delivery(handler=PROBE_A, status=Delivery.Status.PENDING)

    m = scrape(client, settings)

    assert m["celery_broker_up"] == 0
    assert not any(k.startswith("celery_queue_length") for k in m)
    assert m['eventbus_queue_backlog{queue="kitchen"}'] == 1  # the due row stands in


def test_queue_depths_from_the_real_broker():
    from ops.broker import queue_depths
    from pizzeria.celery import QUEUES

    depths = queue_depths()
    assert depths is not None and set(depths) == set(QUEUES)
    assert all(d.messages >= 0 for d in depths.values())


def test_a_process_sends_its_batched_counts_by_itself_shortly_after():
    from tests.polling import wait_until

    counters.flush()
    for _ in range(3):
        counters.order_placed()

    wait_until(
        lambda: (counters.read() or {}).get("orders_placed_total", {}).get("") in ("3", "3.0"),
        timeout=10,
        message="the timer's flush",
    )


def test_metrics_count_deliveries_by_handler_and_status(admin_client):
    rows.dead(handler="h.dead")
    pending = rows.delivery(handler="h.open", status=Delivery.Status.PENDING)
    Delivery.objects.filter(pk=pending.pk).update(created_at=timezone.now() - dt.timedelta(seconds=90))

    body = admin_client.get("/metrics").content.decode()

    assert 'eventbus_deliveries{handler="h.dead",status="dead"} 1.0' in body
    assert 'eventbus_deliveries{handler="h.open",status="pending"} 1.0' in body
    age_line = next(
        line
        for line in body.splitlines()
        if line.startswith('eventbus_oldest_open_delivery_age_seconds{handler="h.open"}')
    )
    assert 89 < float(age_line.split()[-1]) < 300

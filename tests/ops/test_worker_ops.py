"""Through a real worker with LOG_FORMAT=json: the exported counters of a known workload, and one
order's event id and request id in the web's and every worker's log records."""

import io
import json
import logging

import pytest
from pythonjsonlogger.json import JsonFormatter
from rest_framework.test import APIClient

from eventbus import registry
from eventbus.models import Delivery, OutboxEvent
from orders.events import OrderPlaced
from pizzeria.observability.logs import ContextFilter
from simulation.workerproc import queues_purge
from tests.eventbus.probes import PROBE_A, PROBE_B, emit, wait_status
from tests.factories import make_customer, make_menu
from tests.ops.test_metrics import metrics_samples
from tests.polling import wait_until
from tests.worker import make_worker

pytestmark = [pytest.mark.worker]
SECRET = "scrape-secret-0123456789"


@pytest.fixture(scope="module")
def json_worker(django_db_setup, django_db_blocker):
    queues_purge()
    worker = make_worker(env={"LOG_FORMAT": "json"}).start()
    yield worker
    worker.stop()


def scrape(client) -> dict[str, float]:
    return metrics_samples(client, SECRET)


@pytest.mark.django_db(transaction=True)
def test_a_known_workload_is_exported_with_its_outcomes_and_durations(json_worker, client, settings):
    settings.METRICS_TOKEN = SECRET
    ok = [emit("ok") for _ in range(3)]
    flaky = emit("transient:1")
    broken = emit("permanent")
    for event in [*ok, flaky]:
        wait_status(event, "succeeded")
    wait_status(broken, "dead")
    for event in [*ok, flaky, broken]:
        wait_status(event, "succeeded", PROBE_B)

    a = f'handler="{PROBE_A}",outcome="%s",queue="kitchen"'
    expected = {
        f"eventbus_deliveries_total{{{a % 'succeeded'}}}": 4,
        f"eventbus_deliveries_total{{{a % 'retrying'}}}": 1,
        f"eventbus_deliveries_total{{{a % 'dead'}}}": 1,
        f'eventbus_deliveries_total{{handler="{PROBE_B}",outcome="succeeded",queue="analytics"}}': 5,
        f'eventbus_retries_total{{handler="{PROBE_A}",queue="kitchen"}}': 1,
        f'eventbus_delivery_duration_seconds_count{{handler="{PROBE_A}"}}': 6,
        f'eventbus_delivery_duration_seconds_bucket{{handler="{PROBE_A}",le="+Inf"}}': 6,
        f'eventbus_dead_letters{{handler="{PROBE_A}"}}': 1,
    }

    def exported():
        m = scrape(client)
        return m if all(m.get(k) == v for k, v in expected.items()) else None

    try:
        metrics = wait_until(exported, timeout=10, interval=0.2, message="the workload's counters")
    except AssertionError:
        m = scrape(client)
        raise AssertionError({k: (m.get(k), v) for k, v in expected.items()}) from None
    assert metrics[f'eventbus_delivery_duration_seconds_sum{{handler="{PROBE_A}"}}'] > 0


@pytest.fixture
def web_log():
    """The web side's records as JSON, formatted the way LOG_FORMAT=json does."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield buffer
    root.removeHandler(handler)


def _records(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


@pytest.mark.django_db(transaction=True)
def test_one_order_is_traced_by_event_id_and_request_id_through_web_and_workers(json_worker, web_log):
    menu = make_menu()
    customer = make_customer()
    client = APIClient()
    client.force_authenticate(customer.user)
    body = {
        "items": [{"pizza": menu["pizzas"]["Margherita"].pk, "size": "large", "toppings": [], "quantity": 1}],
        "fulfilment": "delivery",
        "delivery_address": "12 Via Roma, Springfield",
    }

    response = client.post("/api/orders/", body, format="json")

    assert response.status_code == 201, response.content
    request_id = response["X-Request-ID"]
    order_id = response.json()["id"]
    event = OutboxEvent.objects.get(aggregate_type="order", aggregate_id=str(order_id), type=OrderPlaced.type)
    event_id = str(event.event_id)
    handlers = {spec.name for spec in registry.handlers_for(OrderPlaced.type)}
    wait_until(
        lambda: set(Delivery.objects.filter(event=event).values_list("status", flat=True)) == {"succeeded"},
        timeout=30,
        message="every OrderPlaced delivery",
    )

    web = [r for r in _records(web_log.getvalue()) if r.get("event_id") == event_id]
    assert web and all(r["request_id"] == request_id for r in web), web

    def worker_records():
        mine = [
            r
            for r in _records(json_worker.log_path.read_text(errors="replace"))
            if r.get("event_id") == event_id
        ]
        return mine if {r.get("handler") for r in mine} >= handlers else None

    records = wait_until(worker_records, timeout=10, message="a worker record per handler")
    for handler in handlers:
        record = next(
            r for r in records if r.get("handler") == handler and r["logger"] == "eventbus.delivery"
        )
        assert record["request_id"] == request_id
        assert record["attempt"] == 1 and record["delivery_id"] and record["task_id"]
        assert str(record["order_id"]) == str(order_id)
        assert record["level"] == "INFO" and record["time"]

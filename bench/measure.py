"""The four measurements. Each returns a dict that goes into the JSON as is."""

from __future__ import annotations

import datetime as dt
import statistics
import time
import uuid
import warnings
from decimal import Decimal

from django.db import connection
from django.db.models import Max, Min
from django.utils import timezone

from bench.handlers import QUEUES
from bench.stats import latency_percentiles
from bench.tasks import noop, redis_client
from eventbus.models import Delivery, OutboxEvent
from pizzeria.celery import app
from tests.polling import wait_until  # the one polling helper, shared by tests and the bench


class BenchError(RuntimeError):
    pass


# --- seed -----------------------------------------------------------------------------------
def seed_minimal() -> dict:
    """One pizza, size, topping and customer: what order_place needs."""
    from django.contrib.auth import get_user_model

    from orders.models import Pizza, Size, Topping
    from orders.services import customer_create

    pizza = Pizza.objects.create(name="Margherita", description="bench", base_price=Decimal("9.50"))
    Size.objects.create(code="large", name="Large", multiplier=Decimal("1.45"))
    Topping.objects.create(code="mushrooms", name="Mushrooms", price=Decimal("1.25"))
    user = get_user_model().objects.create_user(
        username="bench", password="bench-pw-1", email="bench@example.com"
    )
    customer = customer_create(
        user=user, phone="+15005550006", email="bench@example.com", default_address="12 Via Roma, Springfield"
    )
    return {
        "customer": customer,
        "items": [{"pizza": pizza.pk, "size": "large", "toppings": ["mushrooms"], "quantity": 2}],
    }


# --- the order request ------------------------------------------------------------------------
QUERY_BUDGET = 10  # issue 13: SQL queries of one order placement through the API


def queries_per_order(seed: dict, *, rounds: int = 3) -> dict:
    """SQL queries of POST /api/orders/ as a customer's app sends it, counted around the view.

    Through Django's test client in this process (no server): token authentication, throttles,
    an Idempotency-Key, a delivery order with two items and toppings. The webhook family the bench
    process unregisters is put back meanwhile, so its subscription look-up counts as in production.
    Each order commits and is published like any other (the worker runs its no-op handlers).
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from eventbus import registry
    from integrations.webhooks import FAMILY
    from pizzeria.security.tokens import token_issue

    customer = seed["customer"]
    client = Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=customer.user).key}")
    line = seed["items"][0]
    body = {
        "items": [line, {**line, "toppings": [], "quantity": 1}],
        "fulfilment": "delivery",
        "delivery_address": "12 Via Roma, Springfield",
    }
    counts, statements = [], []
    registry.register_family(FAMILY)
    try:
        with warnings.catch_warnings():
            # WhiteNoise notes the bench has no collected static files; nothing here serves them.
            warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
            for _ in range(rounds):
                with CaptureQueriesContext(connection) as ctx:
                    response = client.post(
                        "/api/orders/",
                        body,
                        content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
                    )
                if response.status_code != 201:
                    raise BenchError(
                        f"POST /api/orders/ answered {response.status_code}: {response.content[:300]!r}"
                    )
                counts.append(len(ctx.captured_queries))
                statements = [" ".join(q["sql"].split())[:90] for q in ctx.captured_queries]
    finally:
        registry.unregister_family(FAMILY.prefix)
    return {
        "orders": rounds,
        "queries": counts,
        "min": min(counts),
        "median": statistics.median(counts),
        "max": max(counts),
        "budget": QUERY_BUDGET,
        "statements_last_order": statements,
    }


# --- baseline -------------------------------------------------------------------------------
def baseline(n: int, *, timeout: float, node: str | None = None) -> dict:
    """n bare no-op tasks spread over the handler queues; drained by worker `node` (paused while
    they are published), or without a node first publish → last task done."""
    from bench.bare import timed_noops
    from bench.worker import Paused

    sent = iter(range(n))
    with app.producer_or_acquire() as producer:
        return timed_noops(
            redis_client(),
            n,
            lambda key: noop.apply_async((key,), queue=QUEUES[next(sent) % len(QUEUES)], producer=producer),
            timeout=timeout,
            what="in-project baseline",
            paused=Paused(app, node, QUEUES) if node else None,
        )


# --- pipeline -------------------------------------------------------------------------------
class CommitClock:
    """timezone.now() taken the moment the order's transaction commits.

    Django runs on_commit hooks (our publish) right after COMMIT returns, via
    connection.run_and_clear_commit_hooks(); wrapping it on this connection gives the commit time
    before the publish, with the same clock the worker stamps finished_at with.
    """

    def __init__(self) -> None:
        self.last: dt.datetime | None = None

    def __enter__(self) -> CommitClock:
        original = connection.run_and_clear_commit_hooks

        def stamped() -> None:
            self.last = timezone.now()
            original()

        connection.run_and_clear_commit_hooks = stamped  # type: ignore[method-assign]  # stamps each commit
        return self

    def __exit__(self, *exc) -> None:
        del connection.run_and_clear_commit_hooks  # back to the class's method


def _place(seed: dict, clock: CommitClock) -> tuple[int, dt.datetime]:
    from orders.services import order_place

    clock.last = None
    order = order_place(customer=seed["customer"], items=seed["items"], fulfilment="delivery")
    if clock.last is None:
        raise BenchError("no commit seen for an order (nested in a transaction?)")
    return order.pk, clock.last


def _wait_deliveries(first_pk: int, expected: int, *, timeout: float) -> None:
    def done() -> bool:
        rows = Delivery.objects.filter(pk__gt=first_pk)
        bad = rows.filter(status__in=(Delivery.Status.DEAD, Delivery.Status.RETRYING)).first()
        if bad is not None:
            raise BenchError(f"delivery {bad.pk} {bad.status}: {bad.last_error_class} {bad.last_error}")
        return rows.filter(status=Delivery.Status.SUCCEEDED).count() >= expected

    wait_until(done, timeout=timeout, interval=0.02, message=f"{expected} deliveries")


def _last_delivery_pk() -> int:
    return Delivery.objects.aggregate(m=Max("pk"))["m"] or 0


def per_order(seed: dict) -> int:
    from orders.services import order_place

    order = order_place(customer=seed["customer"], items=seed["items"], fulfilment="delivery")
    return Delivery.objects.filter(event__aggregate_id=str(order.pk)).count()


def pipeline(seed: dict, n: int, *, per_order: int, timeout: float) -> dict:
    """n orders placed back to back; first commit → last delivery succeeded."""
    first_pk = _last_delivery_pk()
    with CommitClock() as clock:
        started = time.perf_counter()
        commits = [_place(seed, clock)[1] for _ in range(n)]
        placing = time.perf_counter() - started
    _wait_deliveries(first_pk, n * per_order, timeout=timeout)
    last = Delivery.objects.filter(pk__gt=first_pk).aggregate(m=Max("finished_at"))["m"]
    return _pass_rates(
        "live",
        n,
        per_order,
        placing=placing,
        elapsed=(last - commits[0]).total_seconds(),
        timed=n * per_order,
    )


def _pass_rates(mode: str, n: int, per_order: int, *, placing: float, elapsed: float, timed: int) -> dict:
    """A pipeline pass's rates; `timed`: the deliveries `elapsed` covers (from the first commit:
    all of them; from the first delivery done: one fewer)."""
    deliveries = n * per_order
    return {
        "mode": mode,
        "orders": n,
        "deliveries": deliveries,
        "placing_s": round(placing, 4),
        "placing_orders_per_s": round(n / placing, 1),
        "elapsed_s": round(elapsed, 4),
        "orders_per_s": round(n * timed / deliveries / elapsed, 1),
        "deliveries_per_s": round(timed / elapsed, 1),
    }


def pipeline_drain(seed: dict, n: int, *, per_order: int, timeout: float, node: str) -> dict:
    """n orders placed while worker `node` consumes nothing, then drained: the first delivery
    finished → the last (as the no-op baselines in drain mode are timed; bench/bare.py).

    The worker's rate at the pipeline's work (claim, handler, finish per delivery). pipeline() is
    the same work with the orders placed meanwhile, in this process, on the same cores.
    """
    from bench.worker import Paused
    from orders.services import order_place

    first_pk = _last_delivery_pk()
    with Paused(app, node, QUEUES):
        t0 = time.perf_counter()
        for _ in range(n):
            order_place(customer=seed["customer"], items=seed["items"], fulfilment="delivery")
        placing = time.perf_counter() - t0
    _wait_deliveries(first_pk, n * per_order, timeout=timeout)
    span = Delivery.objects.filter(pk__gt=first_pk).aggregate(
        first=Min("finished_at"), last=Max("finished_at")
    )
    return _pass_rates(
        "drain",
        n,
        per_order,
        placing=placing,
        elapsed=(span["last"] - span["first"]).total_seconds(),
        timed=n * per_order - 1,
    )


def latency(seed: dict, *, rate: float, seconds: float, per_order: int, timeout: float) -> dict:
    """Orders placed at a steady rate; per order: its last delivery's finished_at − its commit."""
    first_pk = _last_delivery_pk()
    n = int(rate * seconds)
    commits: dict[str, dt.datetime] = {}
    behind = 0
    with CommitClock() as clock:
        start = time.perf_counter()
        for i in range(n):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                behind += 1
            pk, committed = _place(seed, clock)
            commits[str(pk)] = committed
        placing = time.perf_counter() - start
    _wait_deliveries(first_pk, n * per_order, timeout=timeout)
    done: dict[str, dt.datetime] = {}
    stages: dict[str, list[float]] = {"commit_to_claim": [], "claim_to_done": [], "one_delivery": []}
    rows = Delivery.objects.filter(pk__gt=first_pk).values_list(
        "event__aggregate_id", "claimed_at", "finished_at"
    )
    for order_pk, claimed, finished in rows:
        at_commit = commits.get(order_pk)
        if at_commit is None:  # not one of this pass's orders
            continue
        assert claimed is not None and finished is not None  # _wait_deliveries waited for every one
        done[order_pk] = max(done.get(order_pk, finished), finished)
        stages["commit_to_claim"].append((claimed - at_commit).total_seconds() * 1000)
        stages["claim_to_done"].append((finished - claimed).total_seconds() * 1000)
        stages["one_delivery"].append((finished - at_commit).total_seconds() * 1000)
    ms = sorted((done[pk] - committed).total_seconds() * 1000 for pk, committed in commits.items())
    return {
        "samples_ms": [round(x, 2) for x in ms],  # for the chart and the pooled percentiles over rounds
        # Where an order's time goes, per delivery (an order waits for the slowest of its five):
        # commit → claimed (publish, broker, the pool's main process, the hand-off to a child, the
        # claim's statement) and claimed → finished (the attempt). Database clock, same machine.
        "stages_samples_ms": stages,
        "orders": n,
        "target_orders_per_s": rate,
        "achieved_orders_per_s": round(n / placing, 2),
        "orders_placed_late": behind,
        **latency_percentiles(ms),
    }


# --- sweeper --------------------------------------------------------------------------------
def stranded_create(n: int, handlers: list[str], *, chunk: int = 10_000) -> list[int]:
    """n pending deliveries whose message never went out (enqueued_at NULL), 1 event per len(handlers).

    Written `chunk` deliveries at a time, so 100,000 cost the bench no more memory than 10,000.
    """
    template = OutboxEvent.objects.filter(type__endswith="order.placed").order_by("-occurred_at").first()
    payload = template.payload if template else {}
    now = timezone.now()
    due = now - dt.timedelta(seconds=1)
    per_event = len(handlers)
    ids: list[int] = []
    made = 0
    while made < n:
        size = min(chunk, n - made)
        events = [
            OutboxEvent(
                event_id=uuid.uuid4(),
                type=template.type if template else "com.mariopizzeria.order.placed",
                aggregate_type="order",
                aggregate_id=f"stranded-{made // per_event + i}",
                aggregate_version=1,
                occurred_at=now,
                payload=payload,
            )
            for i in range((size + per_event - 1) // per_event)
        ]
        OutboxEvent.objects.bulk_create(events, batch_size=1000)
        rows = [
            Delivery(event_id=e.event_id, handler=h, next_attempt_at=due, enqueued_at=None)
            for e in events
            for h in handlers
        ][:size]
        Delivery.objects.bulk_create(rows, batch_size=2000)
        ids.extend(d.pk for d in rows)
        made += size
    return ids


OPEN = (Delivery.Status.PENDING, Delivery.Status.RETRYING)


def unsent_deliveries_drop() -> int:
    """Delete the open deliveries whose messages the bench has just purged (the API phase's orders).

    Left in place, every sweep re-sends them once they are EVENTBUS_REDISPATCH_AFTER old: a full
    run's sweeper phase once counted 20,400 of them as its own stranded rows and stopped early.
    """
    _, per_model = Delivery.objects.filter(status__in=OPEN).delete()
    return per_model.get(Delivery._meta.label, 0)


def sweeper(n: int, handlers: list[str], *, timeout: float) -> dict:
    from eventbus.sweeper import sweep

    # Open deliveries left by earlier phases are due too and a sweep re-sends them with the stranded
    # ones: counted, and the loop runs until a sweep finds nothing (not until `n` were re-sent).
    others = Delivery.objects.filter(status__in=OPEN).count()
    ids = stranded_create(n, handlers)
    # 100,000 at the target's 1,000/s take 100 s: let a large run take that long before giving up.
    timeout = max(timeout, n / 500)
    started = time.perf_counter()
    sweeps = sent = 0
    while True:
        if time.perf_counter() - started > timeout:
            raise BenchError(f"sweeper re-sent only {sent}/{n + others} in {timeout:.0f}s")
        result = sweep()
        sweeps += 1
        sent += result.redispatched
        if result.redispatched == 0:
            break
    elapsed = time.perf_counter() - started
    left = Delivery.objects.filter(pk__in=ids, enqueued_at__isnull=True).count()
    with app.connection_for_write() as conn:
        client = conn.default_channel.client  # type: ignore[attr-defined]  # the Redis transport's channel
        queued = sum(client.llen(q) for q in QUEUES)
    if left:
        raise BenchError(f"{left} stranded deliveries still not enqueued after {sweeps} sweeps")
    return {
        "stranded": n,
        "other_open_deliveries": others,
        "redispatched": sent,
        "messages_in_queues": queued,
        "sweeps": sweeps,
        "elapsed_s": round(elapsed, 4),
        "redispatch_per_s": round(sent / elapsed, 1),
    }


# --- retention ------------------------------------------------------------------------------
def retention(n: int, handlers: list[str], *, time_limit: float) -> dict:
    """Purge n succeeded deliveries past retention; every call must stay inside the task's limits."""
    from django.conf import settings

    from eventbus.services import deliveries_purge

    ids = stranded_create(n, handlers)
    old = timezone.now() - dt.timedelta(days=settings.EVENTBUS_RETENTION_DAYS + 1)
    Delivery.objects.filter(pk__in=ids).update(status=Delivery.Status.SUCCEEDED, finished_at=old)
    OutboxEvent.objects.filter(aggregate_id__startswith="stranded-").update(created_at=old)
    calls = []
    deleted = 0
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        d, _ = deliveries_purge()
        calls.append(round(time.perf_counter() - t0, 3))
        deleted += d
        if d == 0 or len(calls) > 100:
            break
    return {
        "rows": n,
        "deleted": deleted,
        "calls": len(calls) - 1,
        "longest_call_s": max(calls),
        "task_soft_time_limit_s": time_limit,
        "within_time_limit": max(calls) < time_limit,
        "elapsed_s": round(time.perf_counter() - started, 3),
        "deleted_per_s": round(deleted / (time.perf_counter() - started), 1),
    }

"""Running one delivery: claim the row, call the handler, record the outcome.

The claim is a conditional UPDATE, so a duplicate message, a message for a finished delivery or
one that arrives early does nothing. The handler's writes and the "succeeded" mark commit in one
transaction fenced by the attempt number: if the lease expired meanwhile and another worker took
the delivery over, the late finisher rolls back instead of committing a second time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import traceback
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from pizzeria.eventbus import registry, retry
from pizzeria.eventbus.errors import DeliveryPostponed, PermanentError
from pizzeria.eventbus.events import event_class
from pizzeria.eventbus.models import Delivery, DeliveryAttempt, OutboxEvent
from pizzeria.eventbus.registry import HandlerSpec

logger = logging.getLogger(__name__)

ACTIVE = (Delivery.Status.PENDING, Delivery.Status.RETRYING)


class LeaseLost(Exception):
    """The delivery was taken over (lease expired) while this attempt ran."""


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    handler: str
    attempt: int
    event_id: str
    claimed_at: dt.datetime
    attempt_since_replay: int
    # The event, fetched by the claim itself where the database allows (Postgres: UPDATE … FROM).
    event_type: str | None = None
    payload: dict | None = None


def delivery_claim(delivery_id: int) -> Claim | None:
    """pending/retrying and due → running with a lease, attempts + 1; None if not claimable.

    One round trip on Postgres: the UPDATE joins the outbox row and returns the event too. Its
    commit is asynchronous (synchronous_commit off for this one statement's transaction): a claim
    lost in a database crash only puts the delivery back to pending, for the sweeper to re-send,
    and the attempt's durable "finish" commit flushes the WAL past the claim anyway. The claim
    stays visible to every other session at once. This saves one WAL flush (~1 ms) per delivery.
    """
    now = timezone.now()
    lease_until = now + dt.timedelta(seconds=settings.EVENTBUS_LEASE_SECONDS)
    qn = connection.ops.quote_name
    table = qn(Delivery._meta.db_table)
    params = [Delivery.Status.RUNNING, now, lease_until, now, delivery_id, *ACTIVE, now]
    if connection.vendor == "postgresql":
        outbox = qn(OutboxEvent._meta.db_table)
        # Only when not nested in a caller's transaction: set_config(..., true) lasts until the
        # end of the transaction, and a caller's own commit must stay synchronous.
        relaxed = "" if connection.in_atomic_block else ", (SELECT set_config('synchronous_commit', 'off', true)) AS _async"
        sql = (
            f"UPDATE {table} AS d SET status = %s, attempts = d.attempts + 1, claimed_at = %s, "
            f"lease_until = %s, updated_at = %s FROM {outbox} AS e{relaxed} "
            "WHERE d.id = %s AND d.status IN (%s, %s) AND d.next_attempt_at <= %s AND e.event_id = d.event_id "
            "RETURNING d.handler, d.attempts, d.event_id, d.attempts_before_replay, e.type, e.payload"
        )
    else:  # SQLite: RETURNING may not name a joined table; the event is read separately
        sql = (
            f"UPDATE {table} SET status = %s, attempts = attempts + 1, claimed_at = %s, "
            "lease_until = %s, updated_at = %s "
            "WHERE id = %s AND status IN (%s, %s) AND next_attempt_at <= %s "
            "RETURNING handler, attempts, event_id, attempts_before_replay"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    handler, attempt, raw_event_id, before_replay, *event = row
    event_id = str(uuid.UUID(str(raw_event_id)))  # SQLite returns the hex form
    if event:
        event_type, payload = event
        if isinstance(payload, (str, bytes)):  # Django reads jsonb as text (JSONField decodes it)
            payload = json.loads(payload)
        return Claim(delivery_id, handler, attempt, event_id, now, attempt - before_replay, event_type, payload)
    return Claim(delivery_id, handler, attempt, event_id, now, attempt - before_replay)


def _event_load(claim: Claim):
    if claim.event_type is None:
        outbox = OutboxEvent.objects.only("type", "payload").get(pk=claim.event_id)
        return event_class(outbox.type).from_json(outbox.payload)
    return event_class(claim.event_type).from_json(claim.payload)


def delivery_run(delivery_id: int, *, worker: str = "") -> str:
    """Claim and run one delivery; return its new status, or "skipped" if it was not claimable."""
    claim = delivery_claim(delivery_id)
    if claim is None:
        logger.debug("delivery_id=%s not claimable (done, running elsewhere or not due)", delivery_id)
        return "skipped"
    started = time.monotonic()
    try:
        spec = registry.handler(claim.handler)
        event = _event_load(claim)
    except (LookupError, PermanentError) as exc:  # handler removed, event type unknown, payload invalid
        return _fail(claim, None, exc if isinstance(exc, PermanentError) else PermanentError(str(exc)),
                     started=started, worker=worker)
    try:
        with transaction.atomic():
            result = spec.func(event)
            # A handler may return a dict describing what it did (e.g. the HTTP status): logged.
            _finish(claim, Delivery.Status.SUCCEEDED, started=started, worker=worker,
                    detail=result if isinstance(result, dict) else None)
    except LeaseLost:
        logger.warning("delivery_id=%s attempt %s lost its lease; rolled back", delivery_id, claim.attempt)
        return "lease-lost"
    except DeliveryPostponed as exc:
        return _postpone(claim, exc)
    except Exception as exc:
        return _fail(claim, spec, exc, started=started, worker=worker)
    logger.info(
        "delivery_id=%s handler=%s event_id=%s succeeded (attempt %s)",
        delivery_id, claim.handler, claim.event_id, claim.attempt,
    )
    return Delivery.Status.SUCCEEDED


def _fail(claim: Claim, spec: HandlerSpec | None, exc: Exception, *, started: float, worker: str) -> str:
    permanent = isinstance(exc, PermanentError)
    exhausted = claim.attempt_since_replay >= retry.max_attempts(spec)
    now = timezone.now()
    if permanent or exhausted:
        status, next_at, countdown = Delivery.Status.DEAD, now, None
    else:
        # Counted from the last replay, like the budget: a replay starts again with short waits.
        delay = retry.backoff_seconds(spec, claim.attempt_since_replay)
        delay = max(delay, getattr(exc, "retry_after", None) or 0.0)  # e.g. HTTP 429 Retry-After
        status, next_at = Delivery.Status.RETRYING, now + dt.timedelta(seconds=delay)
        countdown = delay if delay <= settings.EVENTBUS_SHORT_RETRY_MAX else None
    try:
        with transaction.atomic():
            _finish(
                claim,
                status,
                started=started,
                worker=worker,
                exc=exc,
                next_attempt_at=next_at,
                enqueued_at=next_at if countdown is not None else None,
            )
            if spec is not None and spec.on_failure is not None:
                _on_failure(spec, exc, claim=claim, status=status)
    except LeaseLost:
        return "lease-lost"
    log = logger.error if status == Delivery.Status.DEAD else logger.warning
    log(
        "delivery_id=%s handler=%s event_id=%s attempt %s failed (%s: %s) -> %s",
        claim.delivery_id, claim.handler, claim.event_id, claim.attempt,
        type(exc).__name__, exc, status,
    )
    if countdown is not None:
        from pizzeria.eventbus.outbox import publish_deliveries

        publish_deliveries([(claim.delivery_id, claim.handler)], countdown=countdown)
    return status


def _on_failure(spec: HandlerSpec, exc: Exception, *, claim: Claim, status: str) -> None:
    """The handler's failure hook, committed with the failure mark (e.g. a circuit breaker's count).

    In a savepoint: a broken hook is logged and never costs the failure mark itself.
    """
    try:
        with transaction.atomic():
            spec.on_failure(exc, delivery_id=claim.delivery_id, status=status)
    except Exception:
        logger.exception("delivery_id=%s handler=%s: on_failure hook failed", claim.delivery_id, claim.handler)


def _postpone(claim: Claim, exc: DeliveryPostponed) -> str:
    """Give the claim back: no attempt spent or logged, due again at exc.until (the sweeper sends it)."""
    now = timezone.now()
    updated = Delivery.objects.filter(
        pk=claim.delivery_id, status=Delivery.Status.RUNNING, attempts=claim.attempt
    ).update(
        status=Delivery.Status.RETRYING, attempts=F("attempts") - 1, next_attempt_at=exc.until,
        enqueued_at=None, lease_until=None, last_error_class=_error_class(exc), last_error=str(exc)[:2000],
        updated_at=now,
    )
    if not updated:
        return "lease-lost"
    logger.info("delivery_id=%s handler=%s postponed to %s: %s", claim.delivery_id, claim.handler, exc.until, exc)
    return "postponed"


def _finish(
    claim: Claim,
    status: str,
    *,
    started: float,
    worker: str,
    exc: BaseException | None = None,
    next_attempt_at: dt.datetime | None = None,
    enqueued_at: dt.datetime | None = None,
    detail: dict | None = None,
) -> None:
    """Mark the outcome of this attempt, fenced on (running, attempt); raise LeaseLost if taken."""
    now = timezone.now()
    done = status in (Delivery.Status.SUCCEEDED, Delivery.Status.DEAD)
    fields = {"status": status, "lease_until": None, "updated_at": now}
    if done:
        fields["finished_at"] = now
    else:
        fields["next_attempt_at"] = next_attempt_at
        fields["enqueued_at"] = enqueued_at
    if exc is not None:
        fields["last_error_class"] = _error_class(exc)
        fields["last_error"] = str(exc)[:2000]
    attempt = {
        "delivery_id": claim.delivery_id,
        "number": claim.attempt,
        "started_at": claim.claimed_at,
        "duration_ms": (time.monotonic() - started) * 1000,
        "outcome": DeliveryAttempt.Outcome.SUCCEEDED if exc is None else DeliveryAttempt.Outcome.FAILED,
        "error_class": _error_class(exc) if exc is not None else "",
        "error_message": str(exc)[:2000] if exc is not None else "",
        "traceback": "".join(traceback.format_exception(exc))[-10000:] if exc is not None else "",
        "worker": worker,
        "retry_at": None if done else next_attempt_at,
        "detail": detail if exc is None else getattr(exc, "detail", None),
    }
    if connection.vendor == "postgresql":
        _finish_one_statement(claim, fields, attempt)
        return
    updated = Delivery.objects.filter(
        pk=claim.delivery_id, status=Delivery.Status.RUNNING, attempts=claim.attempt
    ).update(**fields)
    if not updated:
        raise LeaseLost(claim.delivery_id)
    DeliveryAttempt.objects.create(**attempt)


def _finish_one_statement(claim: Claim, fields: dict, attempt: dict) -> None:
    """The fenced UPDATE and the attempt's INSERT in one round trip (a data-modifying CTE).

    The INSERT reads the UPDATE's RETURNING, so no attempt row is written when the fence fails.
    """
    qn = connection.ops.quote_name
    delivery_fields = {name: Delivery._meta.get_field(name) for name in fields}
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in delivery_fields.values())
    values = [f.get_db_prep_save(fields[name], connection) for name, f in delivery_fields.items()]
    attempt_fields = [DeliveryAttempt._meta.get_field(name) for name in attempt if name != "delivery_id"]
    columns = ", ".join(qn(f.column) for f in attempt_fields)
    placeholders = ", ".join("%s" for _ in attempt_fields)
    attempt_values = [f.get_db_prep_save(attempt[f.name], connection) for f in attempt_fields]
    sql = (
        f"WITH done AS (UPDATE {qn(Delivery._meta.db_table)} SET {assignments} "
        "WHERE id = %s AND status = %s AND attempts = %s RETURNING id) "
        f"INSERT INTO {qn(DeliveryAttempt._meta.db_table)} ({qn('delivery_id')}, {columns}) "
        f"SELECT done.id, {placeholders} FROM done RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [*values, claim.delivery_id, Delivery.Status.RUNNING, claim.attempt, *attempt_values]
        )
        if cursor.fetchone() is None:
            raise LeaseLost(claim.delivery_id)


def _error_class(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"

"""Running one delivery: claim the row, call the handler, record the outcome.

The claim (claims.py) is a conditional UPDATE, so a duplicate message, a message for a finished
delivery or one that arrives early does nothing. The handler's writes and the "succeeded" mark commit in one
transaction fenced by the attempt number: if the lease expired meanwhile and another worker took
the delivery over, the late finisher rolls back instead of committing a second time.

Times come from the database's clock (see clock.py): the claim reads it, and the rest of the
attempt counts from there with the monotonic clock, so a worker whose wall clock is off neither
claims early nor writes due times or leases that other workers read differently.

What follows a run is a decision the runner returns and the task (tasks.run_delivery) alone acts
on: a RunOutcome whose `retry_in` says "send this message again in N s" (a short retry after a
handler failure, or a lost database connection), or None (done, or a retry due later, which the
row holds and the sweeper sends). A lost database connection is not a handler failure:
delivery_run raises `DatabaseLost`, and delivery_decide turns it into that decision instead of
acknowledging the message away.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import traceback
from collections.abc import Callable
from typing import Any, ClassVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Field, Model

from eventbus import registry, retry, spans
from eventbus.claims import Claim, delivery_claim, delivery_release, not_claimable
from eventbus.clock import DbNow
from eventbus.errors import DeliveryPostponed, PermanentError
from eventbus.events import DomainEvent, event_class
from eventbus.models import Delivery, DeliveryAttempt
from eventbus.registry import HandlerSpec
from pizzeria.observability import context as log_context
from pizzeria.observability import tracing

logger = logging.getLogger(__name__)

# Errors that may mean the connection itself is gone (Postgres restart, failover, a cut socket).
CONNECTION_ERRORS = (InterfaceError, OperationalError)


class RunOutcome(str):
    """What one run of a delivery did, and what follows (equal to the plain strings, for logs and tests).

    `retry_in`: send the message again in that many seconds (None: no message; the row says the
    rest and the sweeper sends what comes due). `abandoned_attempt`: the attempt a lost database
    left running, which the next run releases before claiming.
    """

    SUCCEEDED: ClassVar[RunOutcome]
    RETRYING: ClassVar[RunOutcome]
    DEAD: ClassVar[RunOutcome]
    SKIPPED: ClassVar[RunOutcome]  # not claimable: done, running elsewhere, or not due yet
    LEASE_LOST: ClassVar[RunOutcome]  # taken over while it ran; this attempt rolled back
    POSTPONED: ClassVar[RunOutcome]  # the handler gave the claim back (e.g. an open circuit)
    DATABASE_LOST: ClassVar[RunOutcome]  # the connection broke; nothing about the outcome recorded

    retry_in: float | None
    abandoned_attempt: int | None

    def __new__(
        cls, value: str, *, retry_in: float | None = None, abandoned_attempt: int | None = None
    ) -> RunOutcome:
        outcome = super().__new__(cls, value)
        outcome.retry_in = retry_in
        outcome.abandoned_attempt = abandoned_attempt
        return outcome

    def __repr__(self) -> str:
        return f"RunOutcome({str(self)!r}, retry_in={self.retry_in!r}, abandoned_attempt={self.abandoned_attempt!r})"


RunOutcome.SUCCEEDED = RunOutcome("succeeded")
RunOutcome.RETRYING = RunOutcome("retrying")
RunOutcome.DEAD = RunOutcome("dead")
RunOutcome.SKIPPED = RunOutcome("skipped")
RunOutcome.LEASE_LOST = RunOutcome("lease-lost")
RunOutcome.POSTPONED = RunOutcome("postponed")
RunOutcome.DATABASE_LOST = RunOutcome("database-lost")


class LeaseLost(Exception):
    """The delivery was taken over (lease expired) while this attempt ran."""


class DatabaseLost(Exception):
    """The database connection broke during an attempt; nothing about the outcome was recorded.

    `attempt` is the claimed attempt left running (None if the claim itself failed): the retry
    releases it before claiming again, so the delivery does not wait for its lease to expire.
    """

    def __init__(self, delivery_id: int, attempt: int | None) -> None:
        super().__init__(f"database connection lost during delivery {delivery_id} (attempt {attempt})")
        self.delivery_id = delivery_id
        self.attempt = attempt


def connection_lost() -> bool:
    """True when the default connection is closed or no longer answers."""
    if connection.connection is None:
        return True
    try:
        return not connection.is_usable()
    except Exception:
        return True


def _event_load(claim: Claim) -> DomainEvent:
    return event_class(claim.event_type).from_json(claim.payload)


def delivery_decide(
    delivery_id: int, *, worker: str = "", abandoned_attempt: int | None = None, lost_before: int = 0
) -> RunOutcome:
    """Run one delivery and say what follows, a lost database included (what run_delivery acts on).

    `lost_before`: how many times this message was already sent again (the capped backoff's exponent).
    """
    try:
        return delivery_run(delivery_id, worker=worker, abandoned_attempt=abandoned_attempt)
    except DatabaseLost as exc:
        # The database went away (restart, failover, cut connections). Acknowledging the message
        # would strand the delivery until the sweeper's next look; instead drop the broken
        # connection and have the message sent again with a capped backoff, carrying the attempt
        # left running so the next run releases it at once.
        with contextlib.suppress(Exception):
            connection.close()
        delay = retry.database_lost_delay(lost_before)
        logger.warning("delivery_id=%s: %s; retrying in %.1fs", delivery_id, exc, delay)
        return RunOutcome(RunOutcome.DATABASE_LOST, retry_in=delay, abandoned_attempt=exc.attempt)


def delivery_unsent(delivery_id: int) -> None:
    """The retry message could not be sent: let the sweeper send it when due. Never raises."""
    try:
        Delivery.objects.filter(
            pk=delivery_id, status__in=(Delivery.Status.PENDING, Delivery.Status.RETRYING)
        ).update(enqueued_at=None)
    except Exception:  # the database is away too: the sweeper finds the row by its age or lease
        logger.exception("delivery_id=%s: could not mark the retry as not enqueued", delivery_id)


def delivery_run(delivery_id: int, *, worker: str = "", abandoned_attempt: int | None = None) -> RunOutcome:
    """Claim and run one delivery; say what happened and when to send it again (retry_in).

    Raises DatabaseLost when the database connection breaks (delivery_decide makes it a decision).
    """
    try:
        if abandoned_attempt is not None:
            delivery_release(
                delivery_id, attempt=abandoned_attempt, error="Database connection lost during the attempt"
            )
        claim = delivery_claim(delivery_id)
        if claim is None:
            not_claimable(delivery_id)
    except CONNECTION_ERRORS as exc:
        raise DatabaseLost(delivery_id, abandoned_attempt) from exc
    if claim is None:
        logger.debug("delivery_id=%s not claimable (done, running elsewhere or not due)", delivery_id)
        return RunOutcome.SKIPPED
    log_context.bind(**claim.log_fields())  # handler, attempt, event and order ids on every record
    try:
        if not tracing.enabled():
            return _run_claimed(claim, worker=worker)
        with spans.attempt(claim, queue=_queue(claim.handler)) as span:
            outcome = _run_claimed(claim, worker=worker)
            spans.attempt_outcome(span, outcome)
            return outcome
    except DatabaseError as exc:
        if connection_lost():
            raise DatabaseLost(delivery_id, claim.attempt) from exc
        raise


def _queue(handler: str) -> str:
    spec = registry.find(handler)
    return spec.queue if spec is not None else ""


def _run_claimed(claim: Claim, *, worker: str) -> RunOutcome:
    started = time.monotonic()
    try:
        spec = registry.handler(claim.handler)
        event = _event_load(claim)
    except LookupError as exc:  # handler removed or event type unknown: no retry can help
        return _fail(claim, None, PermanentError(str(exc)), started=started, worker=worker)
    except (
        TypeError,
        ValueError,
        ArithmeticError,
        AttributeError,
    ) as exc:  # payload no longer fits its class
        # (schema.InvalidEventPayload is a ValueError: a payload that breaks its JSON Schema)
        error = PermanentError(f"Stored payload does not fit {claim.event_type}: {exc}")
        return _fail(claim, spec, error, started=started, worker=worker)
    try:
        with transaction.atomic():
            result = spec.func(event)
            # A handler may return a dict describing what it did (e.g. the HTTP status): logged.
            _finish(
                claim,
                Delivery.Status.SUCCEEDED,
                started=started,
                worker=worker,
                detail=result if isinstance(result, dict) else None,
            )
    except LeaseLost:
        logger.warning(
            "delivery_id=%s attempt %s lost its lease; rolled back", claim.delivery_id, claim.attempt
        )
        return RunOutcome.LEASE_LOST
    except DeliveryPostponed as exc:
        return _postpone(claim, exc)
    except Exception as exc:
        if isinstance(exc, CONNECTION_ERRORS) and connection_lost():
            raise
        return _fail(claim, spec, exc, started=started, worker=worker)
    logger.info(
        "delivery_id=%s handler=%s event_id=%s succeeded (attempt %s)",
        claim.delivery_id,
        claim.handler,
        claim.event_id,
        claim.attempt,
    )
    return RunOutcome.SUCCEEDED


def _fail(
    claim: Claim, spec: HandlerSpec | None, exc: Exception, *, started: float, worker: str
) -> RunOutcome:
    step = retry.next_step(spec, claim.attempt_since_replay, exc)
    now = claim.now()
    if step.dead:
        status, next_at, countdown = Delivery.Status.DEAD, now, None
    else:
        status, next_at = Delivery.Status.RETRYING, step.at(now)
        countdown = step.delay if step.delay <= settings.EVENTBUS_SHORT_RETRY_MAX else None
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
                _on_failure(spec.on_failure, exc, claim=claim, status=status)
    except LeaseLost:
        return RunOutcome.LEASE_LOST
    spans.attempt_failed(exc, status=status)
    log = logger.error if status == Delivery.Status.DEAD else logger.warning
    log(
        "delivery_id=%s handler=%s event_id=%s attempt %s failed (%s: %s) -> %s",
        claim.delivery_id,
        claim.handler,
        claim.event_id,
        claim.attempt,
        type(exc).__name__,
        exc,
        status,
    )
    # A short wait rides a countdown message the task sends; a longer one is the row's (sweeper).
    return RunOutcome(status, retry_in=countdown)


def _on_failure(hook: Callable[..., None], exc: Exception, *, claim: Claim, status: str) -> None:
    """The handler's failure hook, committed with the failure mark (e.g. a circuit breaker's count).

    In a savepoint: a broken hook is logged and never costs the failure mark itself.
    """
    try:
        with transaction.atomic():
            hook(exc, delivery_id=claim.delivery_id, status=status)
    except Exception:
        logger.exception(
            "delivery_id=%s handler=%s: on_failure hook failed", claim.delivery_id, claim.handler
        )


def _postpone(claim: Claim, exc: DeliveryPostponed) -> RunOutcome:
    """Give the claim back: no attempt spent or logged, due again at exc.until (the sweeper sends it)."""
    updated = Delivery.objects.filter(
        pk=claim.delivery_id, status=Delivery.Status.RUNNING, attempts=claim.attempt
    ).update(
        status=Delivery.Status.RETRYING,
        attempts=F("attempts") - 1,
        next_attempt_at=exc.until,
        enqueued_at=None,
        lease_until=None,
        last_error_class=_error_class(exc),
        last_error=str(exc)[:2000],
        updated_at=DbNow(),
    )
    if not updated:
        return RunOutcome.LEASE_LOST
    logger.info(
        "delivery_id=%s handler=%s postponed to %s: %s", claim.delivery_id, claim.handler, exc.until, exc
    )
    return RunOutcome.POSTPONED


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
    now = claim.now()
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
    _finish_one_statement(claim, fields, attempt)


def _column(model: type[Model], name: str) -> tuple[str, Field[Any, Any]]:
    """The column name and field of a model's own concrete field (never a relation's reverse side)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field.column, field


def _finish_one_statement(claim: Claim, fields: dict[str, Any], attempt: dict[str, Any]) -> None:
    """The fenced UPDATE and the attempt's INSERT in one round trip (a data-modifying CTE).

    The INSERT reads the UPDATE's RETURNING, so no attempt row is written when the fence fails.
    """
    qn = connection.ops.quote_name
    delivery_fields = {name: _column(Delivery, name) for name in fields}
    assignments = ", ".join(f"{qn(column)} = %s" for column, _ in delivery_fields.values())
    values = [f.get_db_prep_save(fields[name], connection) for name, (_, f) in delivery_fields.items()]
    attempt_fields = [_column(DeliveryAttempt, name) for name in attempt if name != "delivery_id"]
    columns = ", ".join(qn(column) for column, _ in attempt_fields)
    placeholders = ", ".join("%s" for _ in attempt_fields)
    attempt_values = [f.get_db_prep_save(attempt[f.name], connection) for _, f in attempt_fields]
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

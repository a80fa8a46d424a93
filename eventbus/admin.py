"""Admin for the bus: outbox events, deliveries and dead letters.

Everything here is read-only; the only way to change a delivery is the replay and discard actions,
which call the services and leave an admin LogEntry per row.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from eventbus.models import DeadLetter, Delivery, DeliveryAttempt, OutboxEvent
from eventbus.services import REPLAYABLE, delivery_discard, delivery_replay
from pizzeria.admin_mixins import ReadOnlyAdminMixin

if TYPE_CHECKING:  # what the mixins below are mixed into, so mypy checks their super() calls
    _ModelAdmin = admin.ModelAdmin
else:
    _ModelAdmin = object


def _pretty_json(value: Any) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False),
    )


class ReadOnlyMixin(ReadOnlyAdminMixin):
    """Rows are written by the bus, not by staff: no add, change form or delete for anyone."""

    deletable = False


class DeliveryInline(ReadOnlyMixin, admin.TabularInline):
    model = Delivery
    extra = 0
    show_change_link = True
    fields = ("handler", "status", "attempts", "last_error_class", "next_attempt_at", "finished_at")
    readonly_fields = fields
    ordering = ("handler",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("eventbus.view_delivery") or request.user.has_perm(
            "eventbus.change_delivery"
        )


class DeliveryAttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = DeliveryAttempt
    fk_name = "delivery"
    extra = 0
    fields = (
        "number",
        "started_at",
        "duration_ms",
        "outcome",
        "error_class",
        "error_message",
        "retry_at",
        "worker",
        "detail_pre",
        "traceback_pre",
    )
    readonly_fields = fields
    ordering = ("number",)

    @admin.display(description="detail")
    def detail_pre(self, attempt: DeliveryAttempt) -> str:
        # What the handler reported, e.g. a webhook's HTTP status, duration and answer (first 1 KB).
        return _pretty_json(attempt.detail) if attempt.detail is not None else "-"

    @admin.display(description="traceback")
    def traceback_pre(self, attempt: DeliveryAttempt) -> str:
        if not attempt.traceback:
            return "-"
        return format_html(
            '<details><summary>show</summary><pre style="white-space: pre-wrap">{}</pre></details>',
            attempt.traceback,
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Seeing a delivery means seeing its attempts; no separate permission to hand out.
        return True


class EventIdSearchMixin(_ModelAdmin):
    """A pasted event UUID finds its rows by an exact match on the uuid column."""

    event_id_lookup = "event_id"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        try:
            event_id = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(**{self.event_id_lookup: event_id}), False


@admin.register(OutboxEvent)
class OutboxEventAdmin(EventIdSearchMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("event_id", "type", "aggregate_type", "aggregate_id", "aggregate_version", "occurred_at")
    list_filter = ("type", "aggregate_type")
    # Exact matches: ids are pasted whole, and every UUID contains most short numbers.
    search_fields = ("=aggregate_id",)
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at",)
    fields = (
        "event_id",
        "type",
        "schema_version",
        "aggregate_type",
        "aggregate_id",
        "aggregate_version",
        "occurred_at",
        "created_at",
        "payload_pretty",
    )
    readonly_fields = fields
    inlines = [DeliveryInline]

    @admin.display(description="payload")
    def payload_pretty(self, event: OutboxEvent) -> str:
        return _pretty_json(event.payload)


class BaseDeliveryAdmin(EventIdSearchMixin, ReadOnlyMixin, admin.ModelAdmin):
    event_id_lookup = "event__event_id"
    list_display = (
        "id",
        "handler",
        "event_type",
        "status",
        "attempts",
        "last_error_class",
        "last_error_short",
        "next_attempt_at",
        "updated_at",
    )
    list_filter: ClassVar[tuple[str, ...]] = ("handler", "event__type", "status", "last_error_class")
    search_fields = ("id__exact", "handler")
    list_select_related = ("event",)
    ordering = ("-updated_at",)
    fields = (
        "id",
        "event_link",
        "event_type",
        "handler",
        "status",
        "attempts",
        "attempts_before_replay",
        "next_attempt_at",
        "enqueued_at",
        "claimed_at",
        "lease_until",
        "finished_at",
        "last_error_class",
        "last_error",
        "created_at",
        "updated_at",
        "event_payload",
    )
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]
    actions = ["replay", "discard"]

    @admin.display(description="event type", ordering="event__type")
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.type

    @admin.display(description="last error")
    def last_error_short(self, delivery: Delivery) -> str:
        return Truncator(delivery.last_error).chars(80)

    @admin.display(description="event")
    def event_link(self, delivery: Delivery) -> str:
        url = reverse("admin:eventbus_outboxevent_change", args=[delivery.event_id])
        return format_html('<a href="{}">{}</a>', url, delivery.event)

    @admin.display(description="event payload")
    def event_payload(self, delivery: Delivery) -> str:
        return _pretty_json(delivery.event.payload)

    # Replay and discard need eventbus.change_delivery (the role matrix), on the dead-letter
    # proxy too, although the change form stays read-only.
    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"eventbus.{get_permission_codename('change', Delivery._meta)}")

    @admin.action(description="Replay selected deliveries (dead or discarded)", permissions=["operate"])
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        selected = list(queryset)
        eligible = [d for d in selected if d.status in REPLAYABLE]
        count = delivery_replay(deliveries=eligible, actor=request.user.get_username())
        self._log(request, eligible, "Replayed")
        skipped = len(selected) - len(eligible)
        self.message_user(
            request,
            f"{count} deliveries replayed"
            + (f"; {skipped} skipped (not dead or discarded)" if skipped else ""),
            messages.SUCCESS,
        )

    @admin.action(description="Discard selected dead deliveries", permissions=["operate"])
    def discard(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        selected = list(queryset)
        eligible = [d for d in selected if d.status == Delivery.Status.DEAD]
        count = delivery_discard(deliveries=eligible, actor=request.user.get_username())
        self._log(request, eligible, "Discarded")
        skipped = len(selected) - len(eligible)
        self.message_user(
            request,
            f"{count} deliveries discarded" + (f"; {skipped} skipped (not dead)" if skipped else ""),
            messages.SUCCESS,
        )

    def _log(self, request: HttpRequest, deliveries: list[Delivery], verb: str) -> None:
        # The queryset is evaluated before the service runs, so the status is the one acted on.
        for delivery in deliveries:
            self.log_change(
                request, delivery, f"{verb} (was {delivery.status}) by {request.user.get_username()}"
            )


@admin.register(Delivery)
class DeliveryAdmin(BaseDeliveryAdmin):
    pass


@admin.register(DeadLetter)
class DeadLetterAdmin(BaseDeliveryAdmin):
    list_filter = ("handler", "event__type", "last_error_class")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).filter(status=Delivery.Status.DEAD)

"""The notification log for staff: read-only, filterable, with a "resend" that goes through the bus."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.models import Notification
from notifications.services import notification_resend_request
from pizzeria.security.permissions import admin_permission


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "order_id",
        "channel",
        "template",
        "recipient",
        "status",
        "provider",
        "attempts",
        "last_error_code",
        "fallback_of",
    )
    list_filter = ("channel", "status", "template", "provider", ("created_at", admin.DateFieldListFilter))
    # "__exact" on a number/UUID is matched as text (Django casts it), so "alice@…" is no error.
    search_fields = ("order_id__exact", "recipient", "provider_message_id", "event_id__exact")
    date_hierarchy = "created_at"
    list_select_related = ("fallback_of",)
    actions = ["resend"]
    fields = (
        "event_id",
        "event_type",
        "order_id",
        "channel",
        "template",
        "recipient",
        "status",
        "provider",
        "provider_message_id",
        "provider_status",
        "attempts",
        "last_error_code",
        "last_error",
        "unknown_since",
        "unknown_outcomes",
        "reconciled_at",
        "subject",
        "body",
        "html_body",
        "fallback_of",
        "resend_of",
        "created_at",
        "sending_at",
        "sent_at",
        "delivered_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False

    # Resending sends a real SMS or e-mail from the pizzeria: a permission of its own.
    has_resend_permission = admin_permission("notifications.resend_notification")

    @admin.action(description="Resend (a new message, through the event bus)", permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = notification_resend_request(notifications=queryset, actor=request.user)
        self.message_user(request, f"Resend requested for {count} notification(s).", messages.SUCCESS)

"""Admin for webhook subscriptions: the secret is shown once, state changes are actions."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from integrations import circuit
from integrations.catalogue import contact_field_names, public_event_types
from integrations.models import InboundCloudEvent, WebhookSubscription
from integrations.secrets import secret_generate
from integrations.services import (
    subscription_activate,
    subscription_deactivate,
    subscription_rotate_secret,
)
from pizzeria.admin_mixins import ReadOnlyAdminMixin


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(
        max_length=500, assume_scheme="https", help_text="https://… (public addresses only)."
    )
    event_types = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Public event types to receive; none ticked = every public type.",
    )
    contact_fields = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Customer contact data this receiver may get; unticked fields are left out of the payload.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ("name", "url", "content_mode", "event_types", "contact_fields")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["event_types"]).choices = [(t, t) for t in public_event_types()]
        cast(forms.ChoiceField, self.fields["contact_fields"]).choices = [
            (f, f) for f in contact_field_names()
        ]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = (
        "name",
        "url",
        "content_mode",
        "active",
        "circuit",
        "consecutive_failures",
        "last_error_short",
        "secret_hint",
        "deliveries_link",
    )
    list_filter = ("active", "circuit_state", "content_mode")
    search_fields = ("name", "url")
    readonly_fields = (
        "active",
        "deactivated_at",
        "deactivated_reason",
        "secret_hint",
        "secret_rotated_at",
        "previous_secret_expires_at",
        "circuit",
        "consecutive_failures",
        "circuit_opened_at",
        "circuit_retry_at",
        "circuit_opens",
        "last_error",
        "last_error_at",
        "deliveries_link",
        "created_at",
        "updated_at",
    )
    actions = ["rotate_secret", "deactivate", "activate", "close_circuit"]

    def get_fieldsets(self, request: HttpRequest, obj: WebhookSubscription | None = None) -> Any:
        main = ("name", "url", "content_mode", "event_types", "contact_fields")
        if obj is None:
            return [
                (
                    None,
                    {
                        "fields": main,
                        "description": "A signing secret is generated and shown once after saving.",
                    },
                )
            ]
        return [
            (None, {"fields": main}),
            ("State", {"fields": ("active", "deactivated_at", "deactivated_reason", "deliveries_link")}),
            (
                "Signing secret",
                {"fields": ("secret_hint", "secret_rotated_at", "previous_secret_expires_at")},
            ),
            (
                "Circuit breaker",
                {
                    "fields": (
                        "circuit",
                        "consecutive_failures",
                        "circuit_opened_at",
                        "circuit_retry_at",
                        "circuit_opens",
                        "last_error",
                        "last_error_at",
                    )
                },
            ),
            ("Dates", {"fields": ("created_at", "updated_at")}),
        ]

    @admin.display(description="circuit", ordering="circuit_state")
    def circuit(self, sub: WebhookSubscription) -> str:
        status = sub.circuit_status()
        colour = {"closed": "#2e7d32", "open": "#c62828", "half-open": "#ef6c00"}[status]
        until = f" until {timezone.localtime(sub.circuit_retry_at):%H:%M:%S}" if status == "open" else ""
        return format_html('<strong style="color:{}">{}</strong>{}', colour, status, until)

    @admin.display(description="last error")
    def last_error_short(self, sub: WebhookSubscription) -> str:
        return Truncator(sub.last_error).chars(80)

    @admin.display(description="deliveries")
    def deliveries_link(self, sub: WebhookSubscription) -> str:
        if sub.pk is None:
            return "-"
        url = reverse("admin:eventbus_delivery_changelist") + f"?handler={sub.handler_name}"
        return format_html('<a href="{}">{}</a>', url, sub.handler_name)

    # --- the secret, shown once -------------------------------------------------------------
    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool) -> None:
        if not change:
            secret = secret_generate()
            obj.secret_set(secret)
            request._webhook_secrets = [(obj, secret)]  # type: ignore[attr-defined]  # for response_add, this request only
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: WebhookSubscription, post_url_continue: str | None = None
    ) -> HttpResponse:
        # Rendered straight into this response: the secret is never put in a message, the
        # session or a cookie, and no later page can show it again.
        return self._show_secrets(request, getattr(request, "_webhook_secrets", []), "created")

    def _show_secrets(
        self, request: HttpRequest, pairs: list[tuple[WebhookSubscription, str]], verb: str
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Copy the signing secret now",
            "verb": verb,
            "pairs": pairs,
            "changelist_url": reverse("admin:integrations_webhooksubscription_changelist"),
        }
        response = TemplateResponse(request, "integrations/secret_once.html", context)
        response["Cache-Control"] = "no-store"
        return response

    # --- actions ----------------------------------------------------------------------------
    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("integrations.change_webhooksubscription")

    @admin.action(
        description="Rotate the signing secret (old one keeps signing during the overlap)",
        permissions=["operate"],
    )
    def rotate_secret(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> TemplateResponse:
        pairs = []
        for sub in queryset:
            pairs.append(
                (sub, subscription_rotate_secret(subscription=sub, actor=request.user.get_username()))
            )
            self.log_change(request, sub, "Rotated the signing secret")
        return self._show_secrets(request, pairs, "rotated")

    @admin.action(description="Deactivate (waiting deliveries are discarded)", permissions=["operate"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        actor = request.user.get_username()
        for sub in queryset.filter(active=True):
            discarded = subscription_deactivate(
                subscription_id=sub.pk, reason=f"deactivated by {actor}", actor=actor
            )
            self.log_change(request, sub, f"Deactivated ({discarded} waiting deliveries discarded)")
        self.message_user(
            request, "Deactivated; replay discarded deliveries to catch up later.", messages.SUCCESS
        )

    @admin.action(description="Activate", permissions=["operate"])
    def activate(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        count = sum(
            subscription_activate(subscription=s, actor=request.user.get_username()) for s in queryset
        )
        self.message_user(request, f"{count} subscriptions activated (new events only).", messages.SUCCESS)

    @admin.action(description="Close the circuit breaker now", permissions=["operate"])
    def close_circuit(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for sub in queryset:
            circuit.circuit_reset(subscription=sub)
            self.log_change(request, sub, "Closed the circuit breaker")
        self.message_user(request, "Circuit closed; postponed deliveries are being sent.", messages.SUCCESS)


@admin.register(InboundCloudEvent)
class InboundCloudEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "type", "source", "event_id", "order_id")
    list_filter = ("type",)
    search_fields = ("=event_id", "source", "=order_id")
    readonly_fields = ("source", "event_id", "type", "body_sha256", "order_id", "result", "received_at")

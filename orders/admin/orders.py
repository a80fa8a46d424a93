"""Order admin: status and totals are read-only; transitions are actions and change-page buttons
that call the services. A refused transition is a message, never an error page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from orders import selectors, services
from orders.errors import OrderError
from orders.models import Order, OrderItem
from pizzeria.admin_mixins import ConcurrencySafeAdmin
from pizzeria.security.permissions import admin_permission

WAITING_MINUTES = 20

# name → (label, permission, call(order_id, request, post_data)). Each transition checks its own
# permission (the role matrix in docs/security.md), not "change_order": a cook marks ready but cannot
# take money or cancel. No "start cooking": cooking starts in the kitchen (its display or the
# ticket admin), where the capacity lock is; an order-side button would start a ticket past
# KITCHEN_CAPACITY, and orders must not import the kitchen to check.
TRANSITIONS = {
    "pay_cash": (
        "Mark paid (cash)",
        "orders.take_payment",
        lambda oid, req, data: services.order_pay(
            order_id=oid, method=Order.PaymentMethod.CASH, actor=req.user
        ),
    ),
    "mark_ready": (
        "Mark ready",
        "orders.cook_order",
        lambda oid, req, data: services.order_mark_ready(order_id=oid, actor=req.user),
    ),
    "send_out": (
        "Send out for delivery",
        "orders.dispatch_order",
        lambda oid, req, data: services.order_send_out(
            order_id=oid, actor=req.user, driver=(data.get("driver") or req.user.get_username())
        ),
    ),
    "mark_delivered": (
        "Mark delivered / collected",
        "orders.dispatch_order",
        lambda oid, req, data: services.order_mark_delivered(order_id=oid, actor=req.user),
    ),
    "cancel": (
        "Cancel",
        "orders.cancel_order",
        lambda oid, req, data: services.order_cancel(
            order_id=oid, actor=req.user, reason=(data.get("reason") or "Cancelled by staff")[:1000]
        ),
    ),
}


def may_transition(user: User | AnonymousUser, name: str) -> bool:
    return user.is_active and user.has_perm(TRANSITIONS[name][1])


def run_transition(request: HttpRequest, order_id: int, name: str) -> bool:
    label, _, call = TRANSITIONS[name]
    try:
        order = call(order_id, request, request.POST)
    except OrderError as exc:
        messages.error(request, f"{label}: {exc}")
        return False
    except Order.DoesNotExist:
        messages.error(request, f"{label}: order {order_id} no longer exists")
        return False
    messages.success(request, f"{label}: order {order.pk} is now {order.get_status_display().lower()}.")
    return True


def _make_action(name: str) -> Callable[[admin.ModelAdmin, HttpRequest, QuerySet[Order]], None]:
    label, perm, _ = TRANSITIONS[name]

    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order_id in queryset.order_by("pk").values_list("pk", flat=True):
            run_transition(request, order_id, name)

    action.__name__ = f"action_{name}"
    # "orders.cook_order" → the admin asks OrderAdmin.has_cook_order_permission(request).
    return admin.action(description=f"{label} (selected orders)", permissions=[perm.split(".")[1]])(action)


class WaitingFilter(admin.SimpleListFilter):
    title = "waiting"
    parameter_name = "waiting"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", f"Open for more than {WAITING_MINUTES} min")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        if self.value() == "yes":
            cutoff = timezone.now() - dt.timedelta(minutes=WAITING_MINUTES)
            return queryset.filter(placed_at__lt=cutoff).exclude(
                status__in=[Order.Status.DELIVERED, Order.Status.CANCELLED]
            )
        return queryset


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    fields = ("pizza", "size", "toppings", "quantity", "unit_price", "line_total")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ConcurrencySafeAdmin):
    change_form_template = "admin/orders/order/change_form.html"
    list_display = [
        "id",
        "customer",
        "status",
        "fulfilment",
        "total_amount",
        "payment_status",
        "placed_at",
        "age",
    ]
    list_filter = [
        "status",
        "fulfilment",
        "payment_status",
        ("placed_at", admin.DateFieldListFilter),
        WaitingFilter,
    ]
    search_fields = ["customer__user__username", "phone"]
    list_select_related = ["customer__user"]
    date_hierarchy = "placed_at"
    inlines = [OrderItemInline]
    actions = [_make_action(name) for name in TRANSITIONS]
    readonly_fields = [
        "customer", "status", "fulfilment", "delivery_address", "phone", "email", "total_amount",
        "payment_status", "payment_method", "payment_reference", "estimated_ready_time",
        "estimated_delivery_time", "placed_at", "placed_by", "paid_at", "paid_by",
        "cooking_started_at", "cooking_started_by", "ready_at", "ready_by", "pickup_instructions",
        "out_for_delivery_at", "out_for_delivery_by", "driver", "delivered_at", "delivered_by",
        "cancelled_at", "cancelled_by", "cancel_reason", "version", "age", "timeline",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["customer", "status", "fulfilment", "delivery_address", "phone", "email", "notes", "age"]}),
        ("Payment", {"fields": ["total_amount", "payment_status", "payment_method", "payment_reference"]}),
        ("Estimates", {"fields": ["estimated_ready_time", "estimated_delivery_time"]}),
        ("Timeline", {"fields": ["timeline"]}),
        (
            "Who and when",
            {
                "classes": ["collapse"],
                "fields": [
                    ("placed_at", "placed_by"), ("paid_at", "paid_by"), ("cooking_started_at", "cooking_started_by"),
                    ("ready_at", "ready_by", "pickup_instructions"), ("out_for_delivery_at", "out_for_delivery_by", "driver"),
                    ("delivered_at", "delivered_by"), ("cancelled_at", "cancelled_by", "cancel_reason"), "version",
                ],
            },
        ),
    ]  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed through the API / order_place, which prices them

    # The actions' permissions (see TRANSITIONS); Django's admin calls has_<name>_permission.
    has_take_payment_permission = admin_permission("orders.take_payment")
    has_cook_order_permission = admin_permission("orders.cook_order")
    has_dispatch_order_permission = admin_permission("orders.dispatch_order")
    has_cancel_order_permission = admin_permission("orders.cancel_order")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cancel instead: deleting would lose the events' aggregate

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        unsearched = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lstrip("#")
        if term.isdigit() and len(term) < 19:
            queryset |= unsearched.filter(pk=int(term))
        return queryset, may_have_duplicates

    @admin.display(description="age")
    def age(self, order: Order) -> str:
        end = order.delivered_at or order.cancelled_at or timezone.now()
        minutes = int((end - order.placed_at).total_seconds() // 60)
        text = f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes} min"
        if order.is_open and minutes >= WAITING_MINUTES:
            return format_html('<strong style="color:#ba2121">{}</strong>', text)
        return text

    @admin.display(description="timeline")
    def timeline(self, order: Order) -> str:
        rows = selectors.order_timeline(order=order)
        if not rows:
            return "—"
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (
                    timezone.localtime(r["at"]).strftime("%Y-%m-%d %H:%M:%S"),
                    r["label"],
                    r.get("by", ""),
                    r["type"],
                )
                for r in rows
            ),
        )
        return format_html(
            "<table><tr><th>at</th><th>what</th><th>by</th><th>event</th></tr>{}</table>", body
        )

    # --- change-page buttons -----------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        urls = [
            path(
                "<path:object_id>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="orders_order_transition",
            )
        ]
        return urls + super().get_urls()

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = get_object_or_404(Order, pk=object_id) if object_id.isdigit() else None
        if order is None or name not in TRANSITIONS:
            messages.error(request, "Unknown order or transition.")
            return HttpResponseRedirect(reverse("admin:orders_order_changelist"))
        if not may_transition(request.user, name):
            raise PermissionDenied(f"You may not {TRANSITIONS[name][0].lower()}.")
        run_transition(request, order.pk, name)
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Order | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["transitions"] = [
                {"name": n, "label": label, "url": reverse("admin:orders_order_transition", args=[obj.pk, n])}
                for n, (label, _, _) in TRANSITIONS.items()
                if may_transition(request.user, n)  # a button only for what this user may do
            ]
            context["drivers"] = selectors.drivers()
            context["can_transition"] = bool(context["transitions"])
        return super().render_change_form(
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )

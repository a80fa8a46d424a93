"""Kitchen admin: stock is read-only (it changes through orders and received restocks);
transitions are actions calling the services, refusals are messages."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from kitchen import services
from kitchen.errors import KitchenError
from kitchen.models import (
    Ingredient,
    KitchenTicket,
    PurchaseOrder,
    RecipeLine,
    StockMovement,
    format_quantity,
)
from pizzeria.admin_mixins import ConcurrencySafeAdmin, ReadOnlyAdminMixin
from pizzeria.security.permissions import admin_permission


class LowStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("low", "Below minimum threshold"), ("ok", "At or above threshold")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ingredient]) -> QuerySet[Ingredient]:
        if self.value() == "low":
            return queryset.filter(quantity_on_hand__lt=F("minimum_threshold"))
        if self.value() == "ok":
            return queryset.filter(quantity_on_hand__gte=F("minimum_threshold"))
        return queryset


class RecipeLineInline(admin.TabularInline):
    model = RecipeLine
    extra = 0
    autocomplete_fields = ["ingredient"]


@admin.register(Ingredient)
class IngredientAdmin(ConcurrencySafeAdmin):
    list_display = ["name", "stock", "minimum_threshold", "unit", "low", "supplier_name", "updated_at"]
    list_filter = [LowStockFilter, "unit", "supplier_name"]
    search_fields = ["name", "supplier_name", "supplier_email"]
    inlines = [RecipeLineInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Ingredient | None = None) -> list[str]:
        # New ingredients start with a stock; after that only orders and restocks move it.
        return ["quantity_on_hand", "version", "updated_at"] if obj else ["version", "updated_at"]

    @admin.display(description="on hand", ordering="quantity_on_hand")
    def stock(self, obj: Ingredient) -> str:
        return format_quantity(obj.quantity_on_hand)

    @admin.display(boolean=True, description="low")
    def low(self, obj: Ingredient) -> bool:
        return obj.is_low


@admin.register(RecipeLine)
class RecipeLineAdmin(admin.ModelAdmin):
    list_display = ["__str__", "pizza", "topping", "ingredient", "quantity"]
    list_filter = ["pizza", "topping"]
    search_fields = ["ingredient__name", "pizza__name", "topping__name"]
    autocomplete_fields = ["ingredient"]


@admin.register(KitchenTicket)
class KitchenTicketAdmin(admin.ModelAdmin):
    list_display = [
        "order_id",
        "status",
        "priority",
        "fulfilment",
        "placed_at",
        "started_by",
        "finished_by",
        "short",
    ]
    list_filter = ["status", "fulfilment", "dispatch_status"]
    search_fields = ["=order_id", "started_by", "finished_by", "driver"]
    ordering = ["-placed_at"]
    TICKET_FIELDS = [
        "order_id",
        "status",
        "priority",
        "items",
        "shortages",
        "fulfilment",
        "delivery_address",
        "customer_phone",
        "notes",
        "estimated_prep_time",
        "estimated_ready_time",
        "placed_at",
        "started_at",
        "started_by",
        "ready_at",
        "finished_by",
        "cancelled_at",
        "cancel_reason",
        "dispatch_status",
        "driver",
        "dispatched_at",
        "delivered_at",
    ]
    fields = tuple(TICKET_FIELDS)
    actions = ["start", "mark_ready", "rush"]
    # Starting and finishing is cooking (orders.cook_order, as on the display); rush edits the
    # ticket's priority (change_kitchenticket).
    has_cook_order_permission = admin_permission("orders.cook_order")

    def get_readonly_fields(self, request: HttpRequest, obj: KitchenTicket | None = None) -> list[str]:
        return [f for f in self.TICKET_FIELDS if f != "priority"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets come from OrderPlaced

    @admin.display(boolean=True, description="shortage")
    def short(self, obj: KitchenTicket) -> bool:
        return bool(obj.shortages)

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[KitchenTicket],
        label: str,
        call: Callable[[int], KitchenTicket],
    ) -> None:
        for pk in queryset.order_by("-priority", "placed_at").values_list("pk", flat=True):
            try:
                ticket = call(pk)
            except KitchenError as exc:
                messages.error(request, f"{label}: {exc}")
            else:
                messages.success(
                    request, f"{label}: order #{ticket.order_id} is {ticket.get_status_display().lower()}."
                )

    @admin.action(description="Start cooking (within capacity)", permissions=["cook_order"])
    def start(self, request: HttpRequest, queryset: QuerySet[KitchenTicket]) -> None:
        self._each(
            request, queryset, "Start", lambda pk: services.ticket_start(ticket_id=pk, actor=request.user)
        )

    @admin.action(description="Mark ready", permissions=["cook_order"])
    def mark_ready(self, request: HttpRequest, queryset: QuerySet[KitchenTicket]) -> None:
        self._each(
            request,
            queryset,
            "Ready",
            lambda pk: services.ticket_mark_ready(ticket_id=pk, actor=request.user),
        )

    @admin.action(description="Rush (priority 2)", permissions=["change"])
    def rush(self, request: HttpRequest, queryset: QuerySet[KitchenTicket]) -> None:
        self._each(
            request, queryset, "Rush", lambda pk: services.ticket_set_priority(ticket_id=pk, priority=2)
        )


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "ingredient",
        "amount",
        "status",
        "supplier_name",
        "requested_at",
        "received_at",
        "received_by",
    ]
    list_filter = ["status", "supplier_name"]
    search_fields = ["ingredient__name", "supplier_name"]
    autocomplete_fields = ["ingredient"]
    readonly_fields = [
        "status",
        "trigger_event_id",
        "requested_at",
        "requested_by",
        "received_at",
        "received_by",
    ]
    actions = ["mark_received"]

    @admin.display(description="quantity")
    def amount(self, obj: PurchaseOrder) -> str:
        return format_html("{} {}", format_quantity(obj.quantity), obj.ingredient.unit)

    @admin.action(description="Mark received (adds the stock)", permissions=["change"])
    def mark_received(self, request: HttpRequest, queryset: QuerySet[PurchaseOrder]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            try:
                po = services.restock_receive(purchase_order_id=pk, actor=request.user)
            except KitchenError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request,
                    f"Received {format_quantity(po.quantity)} {po.ingredient.unit} of {po.ingredient}.",
                )


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    deletable = False  # the stock's history
    list_display = ["created_at", "ingredient", "kind", "quantity", "shortfall", "order_id", "purchase_order"]
    list_filter = ["kind", "ingredient"]
    search_fields = ["=order_id", "ingredient__name"]

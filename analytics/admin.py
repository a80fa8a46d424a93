from django.contrib import admin

from analytics.models import DailyRollup, OrderFact
from pizzeria.admin_mixins import ReadOnlyAdminMixin


@admin.register(OrderFact)
class OrderFactAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "order_id",
        "placed_at",
        "fulfilment",
        "total_amount",
        "paid_amount",
        "preparation_seconds",
        "delivery_seconds",
        "cancelled_at",
    )
    list_filter = ("fulfilment", ("placed_at", admin.DateFieldListFilter))
    search_fields = ("=order_id", "=customer_id")


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "day",
        "orders",
        "cancelled",
        "revenue",
        "average_order_value",
        "average_preparation_seconds",
        "average_delivery_seconds",
        "updated_at",
    )

from django.contrib import admin

from analytics.models import DailyRollup, OrderFact


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OrderFact)
class OrderFactAdmin(ReadOnlyAdmin):
    list_display = ("order_id", "placed_at", "fulfilment", "total_amount", "paid_amount",
                    "preparation_seconds", "delivery_seconds", "cancelled_at")
    list_filter = ("fulfilment", ("placed_at", admin.DateFieldListFilter))
    search_fields = ("=order_id", "=customer_id")


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnlyAdmin):
    list_display = ("day", "orders", "cancelled", "revenue", "average_order_value",
                    "average_preparation_seconds", "average_delivery_seconds", "updated_at")

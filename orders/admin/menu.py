from django.contrib import admin

from orders.models import Customer, Pizza, Size, Topping


@admin.register(Pizza)
class PizzaAdmin(admin.ModelAdmin):
    list_display = ["name", "base_price", "active"]
    list_editable = ["active"]
    list_filter = ["active"]
    search_fields = ["name", "description"]


@admin.register(Size)
class SizeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "multiplier"]
    search_fields = ["code", "name"]


@admin.register(Topping)
class ToppingAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "price", "active"]
    list_editable = ["active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["user", "phone", "email", "created_at"]
    search_fields = ["user__username", "phone", "email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]

"""Validate requests and render responses. Writes happen in orders.services, never here."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders import selectors
from orders.models import Order, OrderItem, Pizza, Size, Topping
from orders.models.order import MAX_QUANTITY
from orders.phones import phone_normalize, validate_sms_region
from orders.services import MAX_ITEMS
from orders.tracker.tokens import tracker_url

MAX_DB_ID = 2**63 - 1  # BigAutoField: larger ids would overflow the database, not just miss


def _phone(value: str) -> str:
    """E.164, and a number the pizzeria may text (SMS_ALLOWED_REGIONS)."""
    try:
        value = phone_normalize(value)
        validate_sms_region(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None
    return value


# --- auth ----------------------------------------------------------------------------------------
class RegisterSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    email = serializers.EmailField(
        required=False, allow_blank=True, default="", max_length=254
    )  # the column's length
    phone = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=32,
        help_text="International format, e.g. +15005550006",
    )
    default_address = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

    def validate_username(self, value: str) -> str:
        User = get_user_model()
        field = cast("Field[Any, Any]", User._meta.get_field(User.USERNAME_FIELD))
        for validator in field.validators:
            try:
                validator(value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.messages) from None
        if User.objects.filter(**{f"{User.USERNAME_FIELD}__iexact": value}).exists():
            raise serializers.ValidationError("A user with that username already exists.")
        return value

    def validate_phone(self, value: str) -> str:
        return _phone(value)

    def validate(self, attrs: dict) -> dict:
        user = get_user_model()(username=attrs["username"], email=attrs.get("email", ""))
        try:
            validate_password(attrs["password"], user=user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


# --- menu ------------------------------------------------------------------------------------------
class PizzaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Pizza
        fields = ["id", "name", "description", "base_price"]


class SizeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Size
        fields = ["code", "name", "multiplier"]


class ToppingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Topping
        fields = ["code", "name", "price"]


class MenuSerializer(serializers.Serializer):
    pizzas = PizzaSerializer(many=True)
    sizes = SizeSerializer(many=True)
    toppings = ToppingSerializer(many=True)


# --- orders: input -----------------------------------------------------------------------------------
class OrderItemInputSerializer(serializers.Serializer):
    pizza = serializers.IntegerField(min_value=1, max_value=MAX_DB_ID, help_text="Pizza id from /api/menu/")
    size = serializers.CharField(max_length=20, help_text="Size code from /api/menu/")
    toppings = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list, max_length=20
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)


class OrderCreateSerializer(serializers.Serializer):
    """Shape only. What may be ordered (the menu, the address, the phone's region and hourly cap)
    is orders.services.order_place's rule; its InvalidOrder answers 400 with field messages
    (orders.api.exceptions), so the menu is read once per request."""

    # many=True hands max_length to the ListSerializer; the stubs' __init__ does not list it.
    items = OrderItemInputSerializer(many=True, allow_empty=False, max_length=MAX_ITEMS)  # type: ignore[call-arg]
    fulfilment = serializers.ChoiceField(choices=Order.Fulfilment.choices)
    delivery_address = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    phone = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=32,
        help_text="Overrides the profile phone for this order",
    )


class OrderCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


# --- orders: output ----------------------------------------------------------------------------------
class OrderItemSerializer(serializers.ModelSerializer):
    pizza_name = serializers.CharField(source="pizza.name", read_only=True)
    size = serializers.CharField(source="size.code", read_only=True)
    toppings = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = OrderItem
        fields = ["pizza", "pizza_name", "size", "toppings", "quantity", "unit_price", "line_total"]


class TimelineEntrySerializer(serializers.Serializer):
    type = serializers.CharField(help_text="CloudEvents type, e.g. com.mariopizzeria.order.placed")
    at = serializers.DateTimeField()
    status = serializers.CharField()
    # A field called `label`: the metaclass takes it off the class, so it never meets Field.label.
    label = serializers.CharField()  # type: ignore[assignment]
    by = serializers.CharField(
        required=False, help_text='Who acted: "you", "kitchen", "driver" or "pizzeria"'
    )


class OrderSerializer(serializers.ModelSerializer):
    """An order as its customer sees it: roles ("kitchen", "driver"), never staff usernames."""

    items = OrderItemSerializer(many=True, read_only=True)
    payment_method = serializers.CharField(
        read_only=True, help_text='"card", "cash", "online" or "" (unpaid)'
    )
    driver = serializers.SerializerMethodField(help_text='"driver" once a driver has the order, else ""')
    timeline = serializers.SerializerMethodField()
    tracker_url = serializers.SerializerMethodField(
        help_text="The customer's live tracker page for this order (public: anyone with the link can see it)"
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "status",
            "fulfilment",
            "delivery_address",
            "notes",
            "phone",
            "items",
            "total_amount",
            "payment_status",
            "payment_method",
            "placed_at",
            "estimated_ready_time",
            "estimated_delivery_time",
            "driver",
            "cancel_reason",
            "tracker_url",
            "timeline",
        ]
        read_only_fields = fields

    def get_driver(self, order: Order) -> str:
        return "driver" if order.driver else ""

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, order: Order) -> list[dict]:
        # many=True makes a ListSerializer, whose .data is a list (the stubs say ReturnDict)
        return TimelineEntrySerializer(
            selectors.order_timeline(order=order, for_customer=True), many=True
        ).data  # type: ignore[return-value]

    @extend_schema_field(OpenApiTypes.URI)
    def get_tracker_url(self, order: Order) -> str:
        return tracker_url(order_id=order.pk, request=self.context.get("request"))


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class OrderSummarySerializer(OrderSerializer):
    """An order in a list: everything but the timeline (one query per order would add up)."""

    class Meta(OrderSerializer.Meta):
        fields = [f for f in OrderSerializer.Meta.fields if f != "timeline"]
        read_only_fields = fields

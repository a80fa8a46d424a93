"""Customer API. Views are thin: serializers validate and render, services write."""

from __future__ import annotations

import hashlib
import json

from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from orders import selectors, services
from orders.api import examples as ex
from orders.api import serializers as s
from orders.api.permissions import IsCustomer

MAX_DB_ID = s.MAX_DB_ID
IDEMPOTENCY_HEADER = "Idempotency-Key"

E400 = OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input: field names map to lists of messages.")
E401 = OpenApiResponse(s.ErrorSerializer, description="Missing or invalid credentials.")
E403 = OpenApiResponse(s.ErrorSerializer, description="The account has no customer profile.")
E404 = OpenApiResponse(s.ErrorSerializer, description="No such order among yours.")
E409 = OpenApiResponse(s.ErrorSerializer, description="The order's status does not allow this; `detail` says why.")
E422 = OpenApiResponse(s.ErrorSerializer, description="Idempotency-Key reused with a different request body.")
E429 = OpenApiResponse(s.ErrorSerializer, description="Too many orders placed; retry after the Retry-After header.")
ORDER_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Order id")


class RegisterApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_register",
        examples=ex.AUTH_REGISTER,
        request=s.RegisterSerializer,
        responses={201: s.TokenSerializer, 400: E400},
        auth=[],
        summary="Create a customer account and return its API token",
    )
    def post(self, request):
        serializer = s.RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            with transaction.atomic():
                user = get_user_model().objects.create_user(
                    username=data["username"], password=data["password"], email=data["email"]
                )
                services.customer_create(
                    user=user, phone=data["phone"], email=data["email"], default_address=data["default_address"]
                )
                token = Token.objects.create(user=user)
        except IntegrityError:  # two registrations raced for one username
            raise ValidationError({"username": ["A user with that username already exists."]}) from None
        return Response({"token": token.key}, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_token",
        examples=ex.AUTH_TOKEN,
        request=s.TokenRequestSerializer,
        responses={200: s.TokenSerializer, 400: E400},
        auth=[],
        summary="Exchange a username and password for an API token",
    )
    def post(self, request):
        serializer = s.TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request=request, **serializer.validated_data)
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": ["Unable to log in with the provided credentials."]})
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MenuApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="menu", responses={200: s.MenuSerializer}, auth=[], summary="The menu (public)", examples=ex.MENU
    )
    def get(self, request):
        return Response(s.MenuSerializer(selectors.menu_get()).data)


def _order_id(pk: int) -> int:
    if pk > MAX_DB_ID:
        raise NotFound()
    return pk


class OrderListCreateApi(generics.ListAPIView):
    permission_classes = [IsCustomer]
    serializer_class = s.OrderSummarySerializer
    throttle_scope = "order_place"

    def get_throttles(self):
        # Only placing orders is throttled; reading your own orders is not.
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    def get_queryset(self):
        return selectors.order_list_for_customer(customer=self.request.customer)

    @extend_schema(
        operation_id="orders_list",
        examples=ex.ORDERS_LIST,
        responses={200: s.OrderSummarySerializer(many=True), 401: E401, 403: E403},
        summary="Your orders, newest first (paginated)",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="orders_create",
        examples=ex.ORDERS_CREATE,
        request=s.OrderCreateSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description=(
                    "Any string up to 255 characters. Repeating a request with the same key returns the "
                    "order it created (201, same id, header `Idempotent-Replayed: true`) and creates "
                    "nothing; the same key with a different body is refused with 422."
                ),
            )
        ],
        responses={201: s.OrderSerializer, 400: E400, 401: E401, 403: E403, 422: E422, 429: E429},
        summary="Place an order (prices come from the menu)",
    )
    def post(self, request):
        customer = request.customer
        serializer = s.OrderCreateSerializer(data=request.data, context={"customer": customer})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if len(key) > 255 or not key.isprintable():
            raise ValidationError({IDEMPOTENCY_HEADER: ["Use up to 255 printable characters."]})
        kwargs = dict(
            customer=customer,
            items=[dict(i) for i in data["items"]],
            fulfilment=data["fulfilment"],
            delivery_address=data["delivery_address"],
            notes=data["notes"],
            phone=data["phone"] or None,
            actor=request.user,
        )
        headers = {}
        if key:
            fingerprint = hashlib.sha256(
                json.dumps(serializer.validated_data, sort_keys=True, default=str).encode()
            ).hexdigest()
            order, created = services.order_place_idempotent(
                idempotency_key=key, request_fingerprint=fingerprint, **kwargs
            )
            if not created:
                headers["Idempotent-Replayed"] = "true"
        else:
            order = services.order_place(**kwargs)
        order = selectors.order_get(order_id=order.pk)
        return Response(
            s.OrderSerializer(order, context={"request": request}).data, status=status.HTTP_201_CREATED, headers=headers
        )


class OrderDetailApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        operation_id="orders_retrieve",
        examples=ex.ORDERS_RETRIEVE,
        parameters=[ORDER_ID],
        responses={200: s.OrderSerializer, 401: E401, 403: E403, 404: E404},
        summary="One of your orders, with its timeline",
    )
    def get(self, request, pk: int):
        order = selectors.order_get_for_customer(customer=request.customer, order_id=_order_id(pk))
        return Response(s.OrderSerializer(order, context={"request": request}).data)


class OrderCancelApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        operation_id="orders_cancel",
        examples=ex.ORDERS_CANCEL,
        parameters=[ORDER_ID],
        request=s.OrderCancelSerializer,
        responses={200: s.OrderSerializer, 400: E400, 401: E401, 403: E403, 404: E404, 409: E409},
        summary="Cancel one of your orders (only before cooking starts)",
    )
    def post(self, request, pk: int):
        order = selectors.order_get_for_customer(customer=request.customer, order_id=_order_id(pk))
        serializer = s.OrderCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.order_cancel(
            order_id=order.pk, actor=request.user, reason=serializer.validated_data["reason"] or "Cancelled by customer"
        )
        return Response(s.OrderSerializer(selectors.order_get(order_id=order.pk), context={"request": request}).data)

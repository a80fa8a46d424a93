"""Customer API. Views are thin: serializers validate and render, services write."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from orders import selectors, services
from orders.api import examples as ex
from orders.api import serializers as s
from orders.api.permissions import CustomerRequest, IsCustomer
from orders.models import Order
from pizzeria.security.throttles import throttles_for
from pizzeria.security.tokens import token_issue, token_revoke

MAX_DB_ID = s.MAX_DB_ID
IDEMPOTENCY_HEADER = "Idempotency-Key"

E400 = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Invalid input: field names map to lists of messages."
)
E401 = OpenApiResponse(s.ErrorSerializer, description="Missing or invalid credentials.")
E403 = OpenApiResponse(s.ErrorSerializer, description="The account has no customer profile.")
E404 = OpenApiResponse(s.ErrorSerializer, description="No such order among yours.")
E409 = OpenApiResponse(
    s.ErrorSerializer, description="The order's status does not allow this; `detail` says why."
)
E422 = OpenApiResponse(s.ErrorSerializer, description="Idempotency-Key reused with a different request body.")
E413 = OpenApiResponse(s.ErrorSerializer, description="Request body larger than the limit.")
E429 = OpenApiResponse(
    s.ErrorSerializer, description="Too many requests; retry after the Retry-After header."
)
E429_LOGIN = OpenApiResponse(
    s.ErrorSerializer,
    description="Too many attempts, or this username is locked out from this address after repeated wrong "
    "passwords; retry after the Retry-After header.",
)
ORDER_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Order id")


class RegisterApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_throttles(self) -> list[BaseThrottle]:
        return list(throttles_for("register")[:1])  # per address: there is no account yet

    @extend_schema(
        operation_id="auth_register",
        examples=ex.AUTH_REGISTER,
        request=s.RegisterSerializer,
        responses={201: s.TokenSerializer, 400: E400, 413: E413, 429: E429},
        auth=[],
        summary="Create a customer account and return its API token",
    )
    def post(self, request: Request) -> Response:
        serializer = s.RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _, token = services.customer_register(**serializer.validated_data)
        return Response({"token": token.key}, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_throttles(self) -> list[BaseThrottle]:
        return list(throttles_for("token"))

    @extend_schema(
        operation_id="auth_token",
        examples=ex.AUTH_TOKEN,
        request=s.TokenRequestSerializer,
        responses={200: s.TokenSerializer, 400: E400, 413: E413, 429: E429_LOGIN},
        auth=[],
        summary="Exchange a username and password for an API token",
    )
    def post(self, request: Request) -> Response:
        serializer = s.TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The Django request, not DRF's wrapper: django-axes counts the failure on it, and its
        # middleware turns the answer into a 429 once the username is locked out from here.
        user = authenticate(request=request._request, **serializer.validated_data)
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": ["Unable to log in with the provided credentials."]})
        # A login like the admin's: last_login is updated and axes forgets the earlier failures.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return Response({"token": token_issue(user=user).key})


class LogoutApi(APIView):
    @extend_schema(
        operation_id="auth_logout",
        request=None,
        responses={204: None, 401: E401},
        summary="Revoke your API token (every client using it is signed out)",
        examples=ex.AUTH_LOGOUT,
    )
    def post(self, request: Request) -> Response:
        token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MenuApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="menu",
        responses={200: s.MenuSerializer},
        auth=[],
        summary="The menu (public)",
        examples=ex.MENU,
    )
    def get(self, request: Request) -> Response:
        return Response(s.MenuSerializer(selectors.menu_get()).data)


def _order_id(pk: int) -> int:
    if pk > MAX_DB_ID:
        raise NotFound()
    return pk


class OrderListCreateApi(generics.ListAPIView):
    permission_classes = [IsCustomer]
    serializer_class = s.OrderSummarySerializer

    def get_throttles(self) -> list[BaseThrottle]:
        # Only placing orders is throttled; reading your own orders is not.
        return list(throttles_for("order_place")) if self.request.method == "POST" else []

    def get_queryset(self) -> QuerySet[Order]:
        return selectors.order_list_for_customer(customer=cast(CustomerRequest, self.request).customer)

    @extend_schema(
        operation_id="orders_list",
        examples=ex.ORDERS_LIST,
        responses={200: s.OrderSummarySerializer(many=True), 401: E401, 403: E403},
        summary="Your orders, newest first (paginated)",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
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
        responses={201: s.OrderSerializer, 400: E400, 401: E401, 403: E403, 413: E413, 422: E422, 429: E429},
        summary="Place an order (prices come from the menu)",
    )
    def post(self, request: CustomerRequest) -> Response:
        customer = request.customer
        serializer = s.OrderCreateSerializer(data=request.data)
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
            order, created = services.order_place_idempotent(idempotency_key=key, **kwargs)
            if not created:
                headers["Idempotent-Replayed"] = "true"
                order = selectors.order_get(order_id=order.pk)
        else:
            order = services.order_place(**kwargs)
        # A new order comes back from the service with its items, customer and event in memory:
        # the response reads nothing again.
        return Response(
            s.OrderSerializer(order, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
            headers=headers,
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
    def get(self, request: CustomerRequest, pk: int) -> Response:
        order = selectors.order_get_for_customer(customer=request.customer, order_id=_order_id(pk))
        return Response(s.OrderSerializer(order, context={"request": request}).data)


class OrderCancelApi(APIView):
    permission_classes = [IsCustomer]

    def get_throttles(self) -> list[BaseThrottle]:
        return list(throttles_for("order_cancel"))

    @extend_schema(
        operation_id="orders_cancel",
        examples=ex.ORDERS_CANCEL,
        parameters=[ORDER_ID],
        request=s.OrderCancelSerializer,
        responses={
            200: s.OrderSerializer,
            400: E400,
            401: E401,
            403: E403,
            404: E404,
            409: E409,
            413: E413,
            429: E429,
        },
        summary="Cancel one of your orders (only before cooking starts)",
    )
    def post(self, request: CustomerRequest, pk: int) -> Response:
        order = selectors.order_get_for_customer(customer=request.customer, order_id=_order_id(pk))
        serializer = s.OrderCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.order_cancel(
            order_id=order.pk,
            actor=request.user,
            reason=serializer.validated_data["reason"] or "Cancelled by customer",
        )
        return Response(
            s.OrderSerializer(selectors.order_get(order_id=order.pk), context={"request": request}).data
        )

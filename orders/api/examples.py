"""Examples shown in the API docs, one set per operation (tests check every operation has some).

They follow the seeded menu and the README's walk-through, so a reader can paste them as they are.
"""

from typing import Any

from drf_spectacular.utils import OpenApiExample

from orders.events import OrderCancelled, OrderPlaced
from orders.models import Order

# Plain strings (.value), as the JSON a client receives.
PLACED, CANCELLED_STATUS = Order.Status.PLACED.value, Order.Status.CANCELLED.value

ORDER: dict[str, Any] = {
    "id": 42,
    "status": PLACED,
    "fulfilment": "delivery",
    "delivery_address": "12 Via Roma, Springfield",
    "notes": "",
    "phone": "+15005550006",
    "items": [
        {
            "pizza": 1,
            "pizza_name": "Margherita",
            "size": "large",
            "toppings": ["mushrooms"],
            "quantity": 2,
            "unit_price": "15.59",
            "line_total": "31.18",
        }
    ],
    "total_amount": "31.18",
    "payment_status": Order.PaymentStatus.UNPAID.value,
    "payment_method": "",
    "placed_at": "2026-11-26T19:05:00Z",
    "estimated_ready_time": "2026-11-26T19:19:00Z",
    "estimated_delivery_time": "2026-11-26T19:39:00Z",
    "driver": "",
    "cancel_reason": "",
    "tracker_url": "https://pizza.example/track/42/3f1c0e5b9a7d44c2b8e6f0a1d2c3b4a5/",
    "timeline": [
        {"type": OrderPlaced.type, "at": "2026-11-26T19:05:00Z", "status": PLACED, "label": "Order placed"}
    ],
}
CANCELLED = {
    **ORDER,
    "status": CANCELLED_STATUS,
    "cancel_reason": "Ordered twice by mistake",
    "timeline": [
        *ORDER["timeline"],
        {
            "type": OrderCancelled.type,
            "at": "2026-11-26T19:07:00Z",
            "status": CANCELLED_STATUS,
            "label": "Cancelled",
            "by": "ann",
        },
    ],
}
SUMMARY = {k: v for k, v in ORDER.items() if k != "timeline"}
TOKEN = {"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}


def _response(name: str, value: Any, *, status: str = "200", summary: str = "") -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[status], summary=summary)


def _request(name: str, value: Any, *, summary: str = "") -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True, summary=summary)


AUTH_REGISTER = [
    _request(
        "A customer with a phone and an address",
        {
            "username": "ann",
            "password": "a-long-secret-1",
            "email": "ann@example.com",
            "phone": "+15005550006",
            "default_address": "12 Via Roma, Springfield",
        },
    ),
    _response("Created", TOKEN, status="201"),
    _response("Username taken", {"username": ["A user with that username already exists."]}, status="400"),
]
AUTH_TOKEN = [
    _request("Log in", {"username": "ann", "password": "a-long-secret-1"}),
    _response("The API token", TOKEN),
    _response(
        "Wrong password",
        {"non_field_errors": ["Unable to log in with the provided credentials."]},
        status="400",
    ),
]
AUTH_LOGOUT = [
    _response("Not logged in (or the token was already revoked)", {"detail": "Invalid token."}, status="401"),
]
MENU = [
    _response(
        "The seeded menu (shortened)",
        {
            "pizzas": [
                {
                    "id": 1,
                    "name": "Margherita",
                    "description": "Tomato, fior di latte, basil, olive oil",
                    "base_price": "9.50",
                }
            ],
            "sizes": [
                {"code": "small", "name": "Small", "multiplier": "0.80"},
                {"code": "large", "name": "Large", "multiplier": "1.45"},
            ],
            "toppings": [{"code": "mushrooms", "name": "Mushrooms", "price": "1.25"}],
        },
    ),
]
ORDERS_LIST = [
    # drf-spectacular wraps a list example in the paginator's envelope ({count, next, previous, results}).
    _response("One page of orders", SUMMARY),
]
ORDERS_CREATE = [
    _request(
        "Delivery: 2 × large Margherita + mushrooms",
        {
            "items": [{"pizza": 1, "size": "large", "toppings": ["mushrooms"], "quantity": 2}],
            "fulfilment": "delivery",
            "delivery_address": "12 Via Roma, Springfield",
        },
        summary="Totals 31.18 with the seeded menu",
    ),
    _request(
        "Pickup, no toppings",
        {
            "items": [{"pizza": 2, "size": "medium", "toppings": [], "quantity": 1}],
            "fulfilment": "pickup",
        },
    ),
    _response("Placed", ORDER, status="201"),
    _response("Not on the menu", {"items": [{"pizza": ["Pizza 99 is not on the menu."]}]}, status="400"),
    _response(
        "Key reused with another body",
        {"detail": "This Idempotency-Key was already used for a different request; use a new key."},
        status="422",
    ),
]
ORDERS_RETRIEVE = [
    _response("An order with its timeline", ORDER),
    _response("Not yours, or no such order", {"detail": "Not found."}, status="404"),
]
ORDERS_CANCEL = [
    _request("With a reason", {"reason": "Ordered twice by mistake"}),
    _response("Cancelled", CANCELLED),
    _response(
        "Too late",
        {"detail": "Order 42 is cooking; only placed or paid orders can be cancelled"},
        status="409",
    ),
]

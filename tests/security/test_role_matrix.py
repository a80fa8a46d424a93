"""The role matrix, cell by cell: the table in docs/security.md is the expectation, the seed's
groups are the roles, and each probe tries the action over HTTP as that role and reports whether it
happened.

A refused action must leave the rows as they were and answer 403 (or the login page for a
customer in the admin); an allowed one must have its effect. Nothing here mocks a permission.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from eventbus.models import Delivery, OutboxEvent
from kitchen.models import Ingredient, KitchenTicket, PurchaseOrder
from notifications.models import Notification
from orders.models import Order
from tests.eventbus import rows
from tests.factories import advance_order, make_customer, make_menu, make_order, make_role_user

pytestmark = pytest.mark.django_db

ROLES = ("customer", "cook", "driver", "manager", "admin")
SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def read_matrix() -> dict[str, set[str]]:
    """probe name → roles allowed, from the "Roles and permissions" table of docs/security.md."""
    text = SECURITY_DOC.read_text()
    table = text[text.index("## Roles and permissions") :].split("\n\n")[2]
    matrix: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        allowed = {role for role, mark in zip(ROLES, cells[2:], strict=True) if mark == "✓"}
        for probe in re.findall(r"`(\w+)`", cells[0]):
            matrix[probe] = allowed
    return matrix


MATRIX = read_matrix()


class Refused(Exception):
    pass


def expect_refusal(response) -> None:
    """A refusal is a 403, or the admin's login page for someone who is not staff at all."""
    if response.status_code == 403:
        return
    if response.status_code == 302 and "/login/" in response["Location"]:
        return
    raise AssertionError(f"neither allowed nor refused: {response.status_code} {response.content[:300]!r}")


def page(client: Client, url: str) -> bool:
    response = client.get(url)
    if response.status_code == 200:
        return True
    expect_refusal(response)
    return False


def post(client: Client, url: str, data: dict | None = None) -> None:
    response = client.post(url, data or {})
    if response.status_code not in (200, 302) or "/login/" in response.get("Location", ""):
        expect_refusal(response)


def admin_action(client: Client, changelist: str, action: str, pk) -> None:
    response = client.post(changelist, {"action": action, "_selected_action": [pk], "index": 0})
    if response.status_code not in (200, 302) or "/login/" in response.get("Location", ""):
        expect_refusal(response)


def order_status(order: Order) -> str:
    return Order.objects.get(pk=order.pk).status


def ticket_for(order: Order, status: str) -> KitchenTicket:
    return KitchenTicket.objects.create(
        order_id=order.pk,
        status=status,
        fulfilment=order.fulfilment,
        items=[{"pizza": "Margherita", "size": "large", "toppings": [], "quantity": 1}],
    )


# --- probes: each does the action as `user` and says whether it took effect -----------------------
def api_order_place(client, user) -> bool:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    pizza = make_menu()["pizzas"]["Margherita"].pk
    before = Order.objects.count()
    body = {"items": [{"pizza": pizza, "size": "large"}], "fulfilment": "pickup"}
    response = api.post("/api/orders/", body, format="json")
    if response.status_code == 201:
        return Order.objects.count() == before + 1
    assert response.status_code == 403, response.content
    assert Order.objects.count() == before
    return False


def api_order_cancel(client, user) -> bool:
    owner = getattr(user, "customer", None) or make_customer()
    order = make_order(customer=owner)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    response = api.post(f"/api/orders/{order.pk}/cancel/", {"reason": "changed my mind"}, format="json")
    if response.status_code == 200:
        return order_status(order) == "cancelled"
    assert response.status_code == 403, response.content
    assert order_status(order) == "placed"
    return False


def kitchen_board(client, user) -> bool:
    return page(client, "/kitchen/")


def dispatch_board(client, user) -> bool:
    return page(client, "/kitchen/dispatch/")


def ticket_start(client, user) -> bool:
    order = make_order()
    ticket = ticket_for(order, "queued")
    post(client, f"/kitchen/tickets/{ticket.pk}/start/")
    return KitchenTicket.objects.get(pk=ticket.pk).status == "cooking" and order_status(order) == "cooking"


def ticket_ready(client, user) -> bool:
    order = make_order(status="cooking")
    ticket = ticket_for(order, "cooking")
    post(client, f"/kitchen/tickets/{ticket.pk}/ready/")
    return order_status(order) == "ready"


def ticket_admin_start(client, user) -> bool:
    order = make_order()
    ticket = ticket_for(order, "queued")
    admin_action(client, "/admin/kitchen/kitchenticket/", "start", ticket.pk)
    return KitchenTicket.objects.get(pk=ticket.pk).status == "cooking" and order_status(order) == "cooking"


def send_out(client, user) -> bool:
    order = make_order(status="ready")
    post(client, f"/kitchen/dispatch/{order.pk}/send-out/", {"driver": "someone"})
    return order_status(order) == "out_for_delivery"


def deliver(client, user) -> bool:
    order = make_order(status="out_for_delivery")
    post(client, f"/kitchen/dispatch/{order.pk}/delivered/")
    return order_status(order) == "delivered"


def pay(client, user) -> bool:
    order = make_order()
    post(client, f"/admin/orders/order/{order.pk}/transition/pay_cash/")
    return Order.objects.get(pk=order.pk).payment_status == "paid"


def staff_cancel(client, user) -> bool:
    order = advance_order(make_order(), "paid")
    admin_action(client, "/admin/orders/order/", "action_cancel", order.pk)
    cancelled = Order.objects.get(pk=order.pk)
    return cancelled.status == "cancelled" and cancelled.payment_status == "refund_due"


def restock(client, user) -> bool:
    flour = Ingredient.objects.create(
        name=f"Flour {uuid.uuid4().hex[:6]}", unit="g", quantity_on_hand=Decimal("10")
    )
    po = PurchaseOrder.objects.create(ingredient=flour, quantity=Decimal("500"))
    admin_action(client, "/admin/kitchen/purchaseorder/", "mark_received", po.pk)
    return Ingredient.objects.get(pk=flour.pk).quantity_on_hand == Decimal("510")


def analytics(client, user) -> bool:
    return page(client, "/analytics/")


def deadletter_replay(client, user) -> bool:
    dead = rows.dead()
    admin_action(client, "/admin/eventbus/deadletter/", "replay", dead.pk)
    return Delivery.objects.get(pk=dead.pk).status != Delivery.Status.DEAD


def deadletter_discard(client, user) -> bool:
    dead = rows.dead()
    admin_action(client, "/admin/eventbus/deadletter/", "discard", dead.pk)
    return Delivery.objects.get(pk=dead.pk).status == Delivery.Status.DISCARDED


def notification_resend(client, user) -> bool:
    sent = Notification.objects.create(
        event_id=uuid.uuid4(),
        event_type="com.mariopizzeria.order.ready",
        channel="sms",
        template="order_ready",
        recipient="+15005550006",
        body="Your pizza is ready",
        status=Notification.Status.LOGGED,
    )
    admin_action(client, "/admin/notifications/notification/", "resend", sent.pk)
    return OutboxEvent.objects.filter(aggregate_type="notification", aggregate_id=str(sent.pk)).exists()


def webhook_subscriptions(client, user) -> bool:
    return page(client, "/admin/integrations/webhooksubscription/add/")


def ops_pages(client, user) -> bool:
    return page(client, "/admin/eventbus/delivery/")


def ops_screen(client, user) -> bool:
    return page(client, "/admin/ops/")


def deadletter_group_replay(client, user) -> bool:
    from ops.failures import failure_groups

    dead = rows.dead(handler="matrix.group", last_error=f"probe {uuid.uuid4()}")
    group = next(g for g in failure_groups(with_tracebacks=False) if dead.pk in g.delivery_ids)
    client.post(f"/admin/ops/groups/{group.id}/replay/")
    return Delivery.objects.get(pk=dead.pk).status != Delivery.Status.DEAD


def metrics(client, user) -> bool:
    return page(client, "/metrics")


PROBES = {fn.__name__: fn for fn in [
    api_order_place, api_order_cancel, kitchen_board, dispatch_board, ticket_start, ticket_ready,
    ticket_admin_start, send_out, deliver, pay, staff_cancel, restock, analytics, deadletter_replay,
    deadletter_discard, deadletter_group_replay, notification_resend, webhook_subscriptions, ops_pages, ops_screen,
    metrics,
]}  # fmt: skip


def test_every_probe_is_in_the_readme_matrix_and_back():
    assert set(MATRIX) == set(PROBES)


def user_for(role: str):
    if role == "customer":
        return make_customer(username="carla").user
    return make_role_user(role, username=f"{role}-1")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("probe", sorted(MATRIX))
def test_role_matrix(probe, role):
    user = user_for(role)
    client = Client()
    client.force_login(user)

    allowed = PROBES[probe](client, user)

    expected = role in MATRIX[probe]
    assert allowed == expected, f"{role} {'should' if expected else 'must not'} be able to {probe}"

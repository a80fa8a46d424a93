"""Order writes. Each service runs in one transaction, locks the order row, calls the aggregate
method that checks the transition, and saves (saving publishes the recorded event)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from orders import pricing, selectors
from orders.errors import IdempotencyConflict, InvalidOrder
from orders.estimates import delivery_estimate, prep_estimate
from orders.models import Customer, Order, OrderItem
from orders.models.order import MAX_QUANTITY
from orders.phones import phone_normalize, validate_sms_region
from pizzeria.actors import Actor
from pizzeria.security.tokens import token_issue

logger = logging.getLogger(__name__)

MAX_ITEMS = 50


def _resolve_items(items: Sequence[dict]) -> tuple[list[OrderItem], list[dict[str, list[str]]]]:
    """Turn item requests into unsaved OrderItems priced from the menu (read in one query).

    Returns (lines, problems): problems has one {field: [messages]} per item ({} for a good one)
    when any item is wrong. This is the one rule for what may be ordered; the API shows these
    messages as they are.
    """
    ids = [i["pizza"] for i in items if isinstance(i.get("pizza"), int)]
    wanted = {c for i in items for c in (i.get("toppings") or [])}
    menu = selectors.menu_choices(pizza_ids=ids, topping_codes=wanted)
    lines: list[OrderItem] = []
    problems: list[dict[str, list[str]]] = []
    for item in items:
        # Whatever the client sent (any JSON value): the menu lookups judge it.
        pizza_id: Any = item.get("pizza")
        size_name: Any = item.get("size")
        pizza, size = menu.pizzas.get(pizza_id), menu.sizes.get(size_name)
        quantity = item.get("quantity", 1)
        codes = list(item.get("toppings") or [])
        e: dict[str, list[str]] = {}
        if pizza is None:
            e["pizza"] = [f"Pizza {item.get('pizza')!r} is not on the menu."]
        if size is None:
            e["size"] = [f"Unknown size {item.get('size')!r}; see /api/menu/."]
        unknown = [c for c in codes if c not in menu.toppings]
        if unknown:
            e["toppings"] = [f"Unknown topping {c!r}; see /api/menu/." for c in unknown]
        elif len(set(codes)) != len(codes):
            e["toppings"] = ["Each topping can be listed once."]
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
            e["quantity"] = [f"Quantity must be between 1 and {MAX_QUANTITY}."]
        problems.append(e)
        if e or pizza is None or size is None:  # (None ones are in e already)
            continue
        unit = pricing.unit_price(
            base_price=pizza.base_price,
            topping_prices=[menu.toppings[c].price for c in codes],
            multiplier=size.multiplier,
        )
        lines.append(
            OrderItem(
                pizza=pizza,
                size=size,
                toppings=codes,
                quantity=quantity,
                unit_price=unit,
                line_total=pricing.line_total(unit=unit, quantity=quantity),
            )
        )
    return lines, (problems if any(problems) else [])


def order_place(
    *,
    customer: Customer,
    items: list[dict],
    fulfilment: str,
    delivery_address: str = "",
    notes: str = "",
    phone: str | None = None,
    actor: Actor = None,
    idempotency_key: str = "",
    request_fingerprint: str = "",
) -> Order:
    """Create an order priced from the menu and record OrderPlaced.

    items: [{"pizza": <id>, "size": <code>, "toppings": [<code>], "quantity": n}]
    """
    errors: dict[str, list[str]] = {}
    if fulfilment not in Order.Fulfilment.values:
        errors["fulfilment"] = [f"Choose one of: {', '.join(Order.Fulfilment.values)}."]
    delivery_address = (delivery_address or "").strip()
    if fulfilment == Order.Fulfilment.DELIVERY and not delivery_address:
        delivery_address = (customer.default_address or "").strip()
        if not delivery_address:
            errors["delivery_address"] = ["A delivery order needs a delivery address."]
    try:
        order_phone = phone_normalize(phone) if phone else customer.phone
        if order_phone != customer.phone:  # an override: SMS go to it, so it is checked
            phone_check_override(phone=order_phone)
        elif phone:  # the profile's number typed again: still one the pizzeria may text
            validate_sms_region(order_phone)
    except ValidationError as exc:
        errors["phone"] = list(exc.messages)
    if errors:
        raise InvalidOrder(errors)
    if not items:
        raise InvalidOrder({"items": ["An order needs at least one item."]})
    if len(items) > MAX_ITEMS:
        raise InvalidOrder({"items": [f"An order can have at most {MAX_ITEMS} items."]})
    lines, item_errors = _resolve_items(items)
    if item_errors:
        raise InvalidOrder({}, item_errors=item_errors)

    now = timezone.now()
    ready = now + prep_estimate(pizzas=sum(line.quantity for line in lines))
    order = Order(
        customer=customer,
        phone=order_phone,
        email=customer.email or customer.user.email,
        fulfilment=fulfilment,
        delivery_address=delivery_address if fulfilment == Order.Fulfilment.DELIVERY else "",
        notes=notes or "",
        placed_at=now,
        estimated_ready_time=ready,
        estimated_delivery_time=ready + delivery_estimate()
        if fulfilment == Order.Fulfilment.DELIVERY
        else None,
        total_amount=pricing.money(sum((line.line_total for line in lines), Decimal("0"))),
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint,
    )
    # Recorded before the insert, so one INSERT writes the order and its event (it gets the
    # order's id when saved, see Order.drain_events); the items follow in the same transaction.
    order.record_placed(items=lines, actor=actor or customer.user)
    with transaction.atomic():
        order.save()
        for line in lines:
            line.order = order
        OrderItem.objects.bulk_create(lines)
    # The caller (the API's response) reads the items and the timeline it just wrote without
    # asking the database again: a new order's first events are all it has.
    selectors.order_items_known(order=order, items=lines)
    order.known_events = order.saved_events
    logger.info("Order placed order_id=%s customer_id=%s total=%s", order.pk, customer.pk, order.total_amount)
    return order


def phone_check_override(*, phone: str) -> None:
    """An order's own phone (not the profile's) must be textable and not flooded.

    Anyone can type any number here, and the pizzeria then texts it from its own sender: the
    region list stops SMS pumping to premium carriers, the hourly count stops using the shop to
    bomb one number (notifications enforce the same cap when sending).
    """
    validate_sms_region(phone)
    cap = settings.SMS_PER_RECIPIENT_PER_HOUR
    since = timezone.now() - dt.timedelta(hours=1)
    if Order.objects.filter(phone=phone, placed_at__gte=since).exclude(customer__phone=phone).count() >= cap:
        raise ValidationError(
            f"This phone number was given on {cap} orders in the last hour; try again later or use your own.",
            code="phone_rate",
        )


def request_fingerprint_of(
    *,
    items: list[dict],
    fulfilment: str,
    delivery_address: str = "",
    notes: str = "",
    phone: str | None = None,
) -> str:
    """A hash of an order request: the same body gives the same fingerprint (keys sorted)."""
    body = {
        "items": items,
        "fulfilment": fulfilment,
        "delivery_address": delivery_address,
        "notes": notes,
        "phone": phone or "",
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def order_place_idempotent(
    *, customer: Customer, idempotency_key: str, actor: Actor = None, **request: Any
) -> tuple[Order, bool]:
    """Place an order once per (customer, Idempotency-Key); returns (order, created).

    The unique constraint on (customer, idempotency_key) decides: the first request inserts, a
    repeat (or a concurrent twin, which waits on the index until the first commits) fails to
    and answers with the order the key already made. The same key with a different request
    (another fingerprint, see request_fingerprint_of) raises IdempotencyConflict. Placing first
    costs nothing extra on the usual path (no lock, no look-up); a repeat pays for its refused
    insert and one look-up.
    """
    fingerprint = request_fingerprint_of(**request)  # request: order_place's items, fulfilment, …
    try:
        order = order_place(
            customer=customer,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            actor=actor,
            **request,
        )
        return order, True
    except (IntegrityError, InvalidOrder):
        # The key is taken, or this body is no longer valid (the menu changed since the order
        # it made): a repeat still gets its order.
        existing = Order.objects.filter(customer=customer, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different request; use a new key."
        )
    return existing, False


def _locked(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def order_pay(*, order_id: int, method: str, reference: str = "", actor: Actor) -> Order:
    with transaction.atomic():
        order = _locked(order_id)
        order.pay(method=method, reference=reference, actor=actor)
        order.save()
    return order


def order_start_cooking(
    *, order_id: int, actor: Actor, estimated_ready_time: dt.datetime | None = None
) -> Order:
    with transaction.atomic():
        order = _locked(order_id)
        order.start_cooking(actor=actor, estimated_ready_time=estimated_ready_time)
        order.save()
    return order


def order_mark_ready(*, order_id: int, actor: Actor, pickup_instructions: str = "") -> Order:
    with transaction.atomic():
        order = _locked(order_id)
        order.mark_ready(actor=actor, pickup_instructions=pickup_instructions)
        order.save()
    return order


def order_send_out(*, order_id: int, actor: Actor, driver: str) -> Order:
    with transaction.atomic():
        order = _locked(order_id)
        order.send_out(actor=actor, driver=driver)
        order.save()
    return order


def order_mark_delivered(*, order_id: int, actor: Actor) -> Order:
    with transaction.atomic():
        order = _locked(order_id)
        order.mark_delivered(actor=actor)
        order.save()
    return order


def order_cancel(*, order_id: int, actor: Actor, reason: str) -> Order:
    with transaction.atomic():
        order = _locked(order_id)
        order.cancel(actor=actor, reason=reason)
        order.save()
    return order


def customer_create(*, user: User, phone: str = "", email: str = "", default_address: str = "") -> Customer:
    """Create the Customer profile of `user` (phone normalised to E.164)."""
    customer = Customer(
        user=user, phone=phone_normalize(phone), email=email or user.email, default_address=default_address
    )
    customer.full_clean(exclude=["user"])
    customer.save()
    return customer


def customer_register(
    *, username: str, password: str, email: str = "", phone: str = "", default_address: str = ""
) -> tuple[Customer, Token]:
    """Create a customer account: the user, its Customer profile and an API token, together.

    Raises ValidationError on the username when a concurrent registration took it first.
    """
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(username=username, password=password, email=email)
            customer = customer_create(user=user, phone=phone, email=email, default_address=default_address)
            token = token_issue(user=user)
    except IntegrityError:  # two registrations raced for one username
        raise ValidationError({"username": ["A user with that username already exists."]}) from None
    return customer, token

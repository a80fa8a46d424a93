"""Kitchen and dispatch displays: server-rendered pages, kept live by Server-Sent Events.

Each page renders its board fragment; the page's script re-fetches the fragment whenever the
event stream says something changed (and when it (re)connects, to catch up on what it missed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from kitchen import selectors, services
from kitchen.access import cook_required, dispatch_required, kitchen_board_required
from kitchen.errors import KitchenError
from kitchen.models import KitchenTicket
from kitchen.stream import board_events  # noqa: F401  (re-exported for urls)

logger = logging.getLogger(__name__)
MAX_DB_ID = 2**63 - 1  # BigAutoField's largest id


@require_GET
@kitchen_board_required
def kitchen_board(request: HttpRequest) -> HttpResponse:
    return render(request, "kitchen/board.html", {"board": selectors.board(), "page": "kitchen"})


@require_GET
@kitchen_board_required
def kitchen_board_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "kitchen/_board.html", {"board": selectors.board()})


@require_GET
@dispatch_required
def dispatch_board(request: HttpRequest) -> HttpResponse:
    return render(request, "kitchen/dispatch.html", {"board": selectors.dispatch_board(), "page": "dispatch"})


@require_GET
@dispatch_required
def dispatch_board_fragment(request: HttpRequest) -> HttpResponse:
    return render(
        request, "kitchen/_dispatch.html", {"board": selectors.dispatch_board(), "request": request}
    )


def _known_id(pk: int) -> int:
    """The URL's id, or 0 (no row has it) when it is past a bigint: the advisory lock and the
    queries would raise "out of range" (a 500) instead of finding nothing."""
    return pk if pk <= MAX_DB_ID else 0


def _run(request: HttpRequest, label: str, call: Callable[[], str]) -> None:
    try:
        result = call()
    except KitchenError as exc:
        messages.error(request, f"{label}: {exc}")
    except KitchenTicket.DoesNotExist:
        messages.error(request, f"{label}: no such ticket")
    except ObjectDoesNotExist:  # the order: an id typed into the URL (past 2**63 too: see _known_id)
        messages.error(request, f"{label}: no such order")
    else:
        messages.success(request, result)


@require_POST
@cook_required
def ticket_start(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    pk = _known_id(pk)

    def call() -> str:
        ticket = services.ticket_start(ticket_id=pk, actor=request.user)
        return f"Order #{ticket.order_id} is cooking."

    _run(request, "Start", call)
    return redirect("kitchen:board")


@require_POST
@cook_required
def ticket_ready(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    pk = _known_id(pk)

    def call() -> str:
        ticket = services.ticket_mark_ready(ticket_id=pk, actor=request.user)
        return f"Order #{ticket.order_id} is ready."

    _run(request, "Ready", call)
    return redirect("kitchen:board")


@require_POST
@dispatch_required
def dispatch_send_out(request: HttpRequest, order_id: int) -> HttpResponseRedirect:
    order_id = _known_id(order_id)
    driver = (request.POST.get("driver") or request.user.get_username()).strip()

    def call() -> str:
        services.dispatch_send_out(order_id=order_id, actor=request.user, driver=driver)
        return f"Order #{order_id} is out for delivery with {driver}."

    _run(request, "Out for delivery", call)
    return redirect("kitchen:dispatch")


@require_POST
@dispatch_required
def dispatch_delivered(request: HttpRequest, order_id: int) -> HttpResponseRedirect:
    order_id = _known_id(order_id)

    def call() -> str:
        services.dispatch_mark_delivered(order_id=order_id, actor=request.user)
        return f"Order #{order_id} is done."

    _run(request, "Delivered", call)
    return redirect("kitchen:dispatch")

"""The tracker page, its status fragment and its event stream. Public: the token is the key.

A wrong token is a 404 (not 403), the same answer as for an order that does not exist, so the
page says nothing about which order ids exist.
"""

from __future__ import annotations

from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from orders import selectors
from orders.models import Order
from orders.tracker.live import order_channel
from orders.tracker.selectors import FINAL, tracked_order
from orders.tracker.tokens import tracker_token_valid
from pizzeria import live

_Response = TypeVar("_Response", bound=HttpResponseBase)


def _order(order_id: int, token: str) -> Order:
    if not tracker_token_valid(order_id=order_id, token=token):
        raise Http404("No such order")
    try:
        return selectors.order_get(order_id=order_id)
    except Order.DoesNotExist:
        raise Http404("No such order") from None


def _private(response: _Response) -> _Response:
    # The URL is the credential: keep it out of caches, search engines and other sites' logs.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_GET
def tracker_page(request: HttpRequest, order_id: int, token: str) -> HttpResponse:
    order = _order(order_id, token)
    return _private(
        render(request, "orders/tracker/page.html", {"o": tracked_order(order=order), "token": token})
    )


@require_GET
def tracker_status(request: HttpRequest, order_id: int, token: str) -> HttpResponse:
    order = _order(order_id, token)
    return _private(render(request, "orders/tracker/_status.html", {"o": tracked_order(order=order)}))


@live.stream_view(public=True)
@require_GET
async def tracker_events(request: HttpRequest, order_id: int, token: str) -> HttpResponseBase:
    order = await sync_to_async(_order)(order_id, token)
    if order.status in FINAL:
        # 204 tells EventSource to stop reconnecting: nothing will change any more.
        return _private(HttpResponse(status=204))
    events = live.sse_events(
        channel=order_channel(order_id=order.pk),
        max_seconds=settings.TRACKER_SSE_MAX_SECONDS,
        heartbeat=settings.TRACKER_SSE_HEARTBEAT_SECONDS,
        relay=lambda note: {},  # "something changed" is all the page needs: it re-reads the status
    )
    return _private(live.sse_response(events))

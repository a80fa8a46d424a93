"""The Server-Sent Events stream behind the displays, fed by Redis pub/sub (kitchen.live).

The stream itself (hello on every connection, heartbeats, an end after KITCHEN_SSE_MAX_SECONDS
so EventSource reconnects) is pizzeria.live's, shared with the customers' order tracker.
"""

from __future__ import annotations

from django.conf import settings
from django.views.decorators.http import require_GET

from kitchen.access import kitchen_staff_required
from kitchen.live import CHANNEL
from pizzeria import live


@require_GET
@kitchen_staff_required
def board_events(request):
    return live.sse_response(
        live.sse_events(
            channel=CHANNEL,
            max_seconds=float(getattr(settings, "KITCHEN_SSE_MAX_SECONDS", 300)),
            heartbeat=float(getattr(settings, "KITCHEN_SSE_HEARTBEAT_SECONDS", 15)),
        )
    )

"""HTTP views: CloudEvents in, the AsyncAPI document and the human event catalogue."""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from eventbus.events import DomainEvent, event_types
from eventbus.schema import ENVELOPE_FIELDS, _type_hints, type_schema
from integrations.asyncapi import asyncapi_document
from integrations.inbound import INBOUND_SCHEMAS, cloudevent_receive
from integrations.models import WebhookSubscription


@csrf_exempt  # machine-to-machine; authenticated by its Standard Webhooks signature instead
@require_POST
def cloudevents_inbound(request: HttpRequest) -> JsonResponse:
    limit = settings.CLOUDEVENTS_INBOUND_MAX_BYTES
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return JsonResponse({"error": "bad_request", "reason": "Content-Length is not a number"}, status=400)
    if length > limit:
        return JsonResponse({"error": "too_large", "reason": f"The body is over {limit} bytes"}, status=413)
    secret = settings.CLOUDEVENTS_INBOUND_SECRET
    if not secret:
        return JsonResponse(
            {
                "error": "not_configured",
                "reason": "CLOUDEVENTS_INBOUND_SECRET is not set: inbound CloudEvents are off",
            },
            status=503,
        )
    body = request.body[: limit + 1]
    if len(body) > limit:
        return JsonResponse({"error": "too_large", "reason": f"The body is over {limit} bytes"}, status=413)
    outcome = cloudevent_receive(body=body, headers=dict(request.headers), secret=secret)
    return JsonResponse(outcome.body, status=outcome.status)


@require_GET
def asyncapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(asyncapi_document(), json_dumps_params={"indent": 2})


def _fields(cls: type[DomainEvent]) -> list[dict]:
    types = _type_hints(cls)  # type: ignore[arg-type]  # a class is hashable (see events.from_json)
    rows = []
    for name in (f.name for f in dataclasses.fields(cls)):
        if name in ENVELOPE_FIELDS:
            continue
        schema = type_schema(types[name])
        rows.append(
            {
                "name": name,
                "type": schema.get("format") or schema.get("type") or "see schema",
                "doc": cls.field_docs.get(name, ""),
                "leaves": "never"
                if name in cls.internal_fields
                else "if allowed"
                if name in cls.contact_fields
                else "yes"
                if cls.public
                else "never",
            }
        )
    return rows


@staff_member_required
@require_GET
def event_catalogue(request: HttpRequest) -> HttpResponse:
    # Who subscribes is for those who manage subscriptions (admins); other staff see the events.
    may_see = request.user.has_perm("integrations.view_webhooksubscription")
    subscriptions = list(WebhookSubscription.objects.filter(active=True).order_by("name")) if may_see else []
    events = []
    for event_type, cls in sorted(event_types().items()):
        if cls.__module__.startswith("tests."):
            continue
        events.append(
            {
                "name": cls.__name__,
                "type": event_type,
                "version": cls.schema_version,
                "public": cls.public,
                "doc": (cls.__doc__ or "").strip()
                if not (cls.__doc__ or "").startswith(cls.__name__ + "(")
                else "",
                "fields": _fields(cls),
                "subscribers": [s for s in subscriptions if s.wants(event_type)] if cls.public else [],
            }
        )
    return render(
        request,
        "integrations/catalogue.html",
        {"events": events, "inbound": sorted(INBOUND_SCHEMAS), "show_subscribers": may_see},
    )

"""Build a signed com.mariopizzeria.payment.processed CloudEvent and print the curl that sends it.

python manage.py cloudevent_payment --order 5                 # amount = the order's total
python manage.py cloudevent_payment --order 5 --mode binary --amount 1.00
"""

from __future__ import annotations

import datetime as dt
import shlex
import uuid
from typing import Any

from cloudevents.core.bindings.http import to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.inbound import PAYMENT_PROCESSED
from integrations.signing import signature_headers
from orders.models import Order


class Command(BaseCommand):
    help = "Print a curl command that POSTs a signed payment.processed CloudEvent to /cloudevents/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--order", type=int, required=True)
        parser.add_argument("--amount", help="default: the order's total")
        parser.add_argument("--method", default="card", choices=sorted(Order.PaymentMethod.values))
        parser.add_argument("--reference", default="")
        parser.add_argument("--id", default="", help="the CloudEvent id (default: a new UUID)")
        parser.add_argument("--source", default="https://payments.example/psp")
        parser.add_argument("--mode", default="structured", choices=["structured", "binary"])
        parser.add_argument("--url", default="http://127.0.0.1:8000/cloudevents/")

    def handle(self, *args: Any, **opts: Any) -> None:
        secret = settings.CLOUDEVENTS_INBOUND_SECRET
        if not secret:
            raise CommandError("CLOUDEVENTS_INBOUND_SECRET is not set")
        order = Order.objects.filter(pk=opts["order"]).first()
        if order is None:
            raise CommandError(f"Order {opts['order']} does not exist")
        event = CloudEvent(
            attributes={
                "id": opts["id"] or str(uuid.uuid4()),
                "source": opts["source"],
                "type": PAYMENT_PROCESSED,
                "datacontenttype": "application/json",
            },
            data={
                "order_id": order.pk,
                "amount": opts["amount"] or str(order.total_amount),
                "method": opts["method"],
                "reference": opts["reference"] or f"psp_{uuid.uuid4().hex[:10]}",
            },
        )
        message = (to_binary_event if opts["mode"] == "binary" else to_structured_event)(event)
        headers = {
            **message.headers,
            **signature_headers(
                secrets=[secret],
                msg_id=f"msg_{uuid.uuid4().hex}",
                timestamp=dt.datetime.now(dt.UTC),
                body=message.body,
            ),
        }
        parts = ["curl", "-sS", "-XPOST", opts["url"]]
        for name, value in headers.items():
            parts += ["-H", f"{name}: {value}"]
        parts += ["--data-binary", message.body.decode()]
        self.stdout.write(" ".join(shlex.quote(p) for p in parts))

import datetime as dt

import pytest
from django.utils import timezone

from pizzeria.eventbus.models import Delivery
from tests.eventbus import rows

pytestmark = pytest.mark.django_db


def test_metrics_count_deliveries_by_handler_and_status(admin_client):
    rows.dead(handler="h.dead")
    pending = rows.delivery(handler="h.open", status=Delivery.Status.PENDING)
    Delivery.objects.filter(pk=pending.pk).update(created_at=timezone.now() - dt.timedelta(seconds=90))

    body = admin_client.get("/metrics").content.decode()

    assert 'eventbus_deliveries{handler="h.dead",status="dead"} 1.0' in body
    assert 'eventbus_deliveries{handler="h.open",status="pending"} 1.0' in body
    age_line = next(
        line
        for line in body.splitlines()
        if line.startswith('eventbus_oldest_open_delivery_age_seconds{handler="h.open"}')
    )
    assert 89 < float(age_line.split()[-1]) < 300

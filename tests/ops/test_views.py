"""The ops screen: per queue and handler figures from the rows and the broker, warnings, refresh."""

import datetime as dt

import pytest
from django.utils import timezone

from eventbus.models import Delivery
from ops import views
from ops.broker import QueueDepth
from tests.eventbus import rows
from tests.factories import make_role_user
from tests.testapp.handlers import PROBE_A, PROBE_B

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_workers(monkeypatch):
    """Nobody answers inspect; the kitchen queue holds 7 messages on a broker that counts consumers."""
    monkeypatch.setattr(
        views,
        "workers_online",
        lambda: [
            {"name": "analytics@m2", "queues": ["analytics"], "concurrency": 2, "active": 1},
        ],
    )
    depths = {
        q: QueueDepth(q, 0, None)
        for q in ("events", "kitchen", "inventory", "notifications", "analytics", "integrations")
    }
    depths["kitchen"] = QueueDepth("kitchen", 7, None)
    monkeypatch.setattr(views, "queue_depths", lambda: depths)


def test_anonymous_goes_to_login_and_a_cook_is_refused(client):
    assert client.get("/admin/ops/").status_code == 302
    client.force_login(make_role_user("cook"))
    assert client.get("/admin/ops/").status_code == 403


def test_screen_shows_backlog_age_failure_rate_and_no_consumer(client, settings, no_workers):
    settings.OPS_OLDEST_AGE_WARNING_SECONDS = 60
    now = timezone.now()
    old = rows.delivery(handler=PROBE_A, status=Delivery.Status.PENDING)
    Delivery.objects.filter(pk=old.pk).update(
        created_at=now - dt.timedelta(seconds=300), next_attempt_at=now - dt.timedelta(seconds=300)
    )
    rows.delivery(handler=PROBE_A, status=Delivery.Status.RUNNING)
    # finished in the last 5 minutes: one at the first try, one after a failed attempt, one dead
    rows.delivery(handler=PROBE_B, status=Delivery.Status.SUCCEEDED, attempts=1, finished_at=now)
    rows.delivery(handler=PROBE_B, status=Delivery.Status.SUCCEEDED, attempts=2, finished_at=now)
    rows.dead(handler=PROBE_B, attempts=1)
    client.force_login(make_role_user("manager"))

    data = views.screen_data()
    kitchen = next(q for q in data["queues"] if q["name"] == "kitchen")
    assert (kitchen["waiting"], kitchen["running"], kitchen["backlog"]) == (7, 1, 8)
    assert kitchen["no_consumer"] and 280 < kitchen["oldest_age"] < 900
    analytics = next(q for q in data["queues"] if q["name"] == "analytics")
    assert not analytics["no_consumer"] and analytics["last5"] == 3 and analytics["dead"] == 1
    b = next(h for h in data["handlers"] if h.handler == PROBE_B)
    assert b.failure_rate == pytest.approx(2 / 4)  # 4 attempts, 2 failed
    assert b.p95 is not None and b.dead_url.endswith(f"handler={PROBE_B}")
    assert "Queue kitchen: no consumer, 8 waiting" in data["warnings"]
    assert any(w.startswith("Queue kitchen: oldest due delivery waited") for w in data["warnings"])

    page = client.get("/admin/ops/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-refresh="5"' in body and "no consumer" in body and "analytics@m2" in body
    partial = client.get("/admin/ops/?partial=1").content.decode()
    assert "<html" not in partial and 'data-queue="kitchen"' in partial

"""The bench's sweeper phase measures its own stranded rows, whatever earlier phases left open."""

import datetime as dt

import pytest
from django.utils import timezone

from bench import measure
from eventbus.models import Delivery
from simulation.workerproc import queues_purge

pytestmark = pytest.mark.django_db

HANDLERS = [f"bench.noop_{q}" for q in ("kitchen", "inventory", "notifications", "analytics", "integrations")]


@pytest.fixture
def broker_emptied_after():
    yield
    queues_purge()


def _left_from_an_earlier_phase() -> Delivery:
    """An API-phase delivery: published, its message purged by the bench, never run."""
    (pk,) = measure.stranded_create(1, HANDLERS[:1])
    Delivery.objects.filter(pk=pk).update(enqueued_at=timezone.now() - dt.timedelta(days=1))
    return Delivery.objects.get(pk=pk)


def test_every_stranded_row_is_re_sent_when_an_earlier_phase_left_one_open(settings, broker_emptied_after):
    # A full run once failed here: the sweeps re-sent the earlier phase's rows first (oldest due),
    # the loop stopped once it had counted n, and 20,400 stranded rows were never sent. A sweep
    # takes at most 20 batches: with batches of 10, 600 rows need 3 sweeps and the earlier row a 4th.
    settings.EVENTBUS_SWEEP_BATCH = 10
    earlier = _left_from_an_earlier_phase()

    out = measure.sweeper(600, HANDLERS, timeout=60)

    assert out["other_open_deliveries"] == 1 and out["redispatched"] == 601
    assert not Delivery.objects.filter(enqueued_at__isnull=True).exists()
    earlier.refresh_from_db()
    assert earlier.enqueued_at > timezone.now() - dt.timedelta(minutes=1)


def test_the_api_phase_drops_the_deliveries_whose_messages_it_purged():
    earlier = _left_from_an_earlier_phase()
    done_pk, _ = measure.stranded_create(2, HANDLERS[:2])
    Delivery.objects.filter(pk=done_pk).update(status=Delivery.Status.SUCCEEDED, finished_at=timezone.now())

    assert measure.unsent_deliveries_drop() == 2

    assert list(Delivery.objects.values_list("pk", flat=True)) == [done_pk]
    assert not Delivery.objects.filter(pk=earlier.pk).exists()

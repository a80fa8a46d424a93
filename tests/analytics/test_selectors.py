import datetime as dt

from django.utils import timezone

from analytics.selectors import on_time, percentile, times


def test_times_and_on_time_rate():
    now = timezone.now()
    facts = [
        {
            "fulfilment": "delivery",
            "placed_at": now,
            "preparation_seconds": 60.0 * n,
            "delivery_seconds": 600.0,
            "ready_at": now + dt.timedelta(minutes=n),
            "delivered_at": now + dt.timedelta(minutes=30 + n),
            "promised_at": now + dt.timedelta(minutes=35),
        }
        for n in range(1, 11)
    ]
    prep = times(facts=facts).rows[0]
    assert prep[1:] == [10, 5.5, 5.5, 9.1]  # minutes: average, p50, p90 of 1…10
    delivery = on_time(facts=facts).rows[0]
    assert delivery[1:] == [10, 5, 5, 50.0]  # 31…35 on time, 36…40 late


def test_percentile():
    assert percentile([], 90) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0

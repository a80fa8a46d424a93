"""Thin Celery tasks: load by id, call one function. State lives in rows, results are ignored."""

from celery import shared_task

from pizzeria.eventbus.delivery import delivery_run
from pizzeria.eventbus.services import deliveries_purge
from pizzeria.eventbus.sweeper import sweep


@shared_task(name="eventbus.run_delivery", bind=True, ignore_result=True)
def run_delivery(self, delivery_id: int) -> str:
    return delivery_run(delivery_id, worker=self.request.hostname or "")


@shared_task(name="eventbus.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> dict:
    result = sweep()
    return {"redispatched": result.redispatched, "leases_expired": result.leases_expired}


@shared_task(name="eventbus.purge_delivered", ignore_result=True)
def purge_delivered() -> dict:
    deliveries, events = deliveries_purge()
    return {"deliveries": deliveries, "events": events}

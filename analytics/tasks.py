from celery import shared_task

from analytics.services import rollup_recent


@shared_task(name="analytics.rollup_recent", ignore_result=True)
def rollup_recent_days() -> int:
    return len(rollup_recent(days=2))

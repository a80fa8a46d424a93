"""Two worker nodes for the same queues, as two machines would run them; one is SIGKILLed mid-run.

The other node finishes everything: nothing lost, each side effect once. The attempts' worker
column says which node ran what (the summary printed at the end).
"""

from collections import Counter

import pytest

from eventbus.models import DeliveryAttempt
from simulation.workerproc import queues_purge
from tests.eventbus.probes import PROBE_A, PROBE_B, emit, side_effects
from tests.faults.conftest import wait_all_succeeded
from tests.polling import wait_until
from tests.worker import make_worker

pytestmark = [pytest.mark.worker, pytest.mark.faults]


@pytest.mark.django_db(transaction=True)
def test_a_node_sigkilled_mid_run_leaves_the_work_to_the_other_node(capsys):
    queues_purge()
    # Node "a" runs no beat; node "b" runs the sweeper (one beat per estate).
    a = make_worker(beat=False, concurrency=2).start()
    b = make_worker(beat=True, concurrency=2).start()
    try:
        events = [emit("slow:0.2") for _ in range(30)]
        # mid-run: node a has finished some and holds more
        wait_until(
            lambda: DeliveryAttempt.objects.filter(worker=a.name, outcome="succeeded").count() >= 3,
            timeout=60,
            message="node a at work",
        )
        a.kill()  # SIGKILL: the process and its pool children

        wait_all_succeeded([e.event_id for e in events], timeout=90)
    finally:
        a.kill()
        b.stop()

    for event in events:
        assert side_effects(event, PROBE_A) == 1 and side_effects(event, PROBE_B) == 1
    per_node = Counter(DeliveryAttempt.objects.filter(outcome="succeeded").values_list("worker", flat=True))
    assert per_node[a.name] >= 3 and per_node[b.name] > 0
    assert sum(per_node.values()) == 2 * len(events)
    lost = DeliveryAttempt.objects.filter(outcome="lost").count()
    with capsys.disabled():
        print(f"\ndeliveries per node: {dict(per_node)}; attempts lost with node a: {lost}")

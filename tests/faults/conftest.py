"""Shared pieces of the fault matrix: recovery timing and bulk waits on probe events."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from eventbus.models import Delivery
from tests.polling import wait_until

REPORT = Path(
    os.environ.get("FAULT_REPORT", Path(__file__).resolve().parents[2] / ".run" / "fault-recovery.json")
)


@pytest.fixture
def recovery(request):
    """recovery.start() when the dependency is back; recovery.stop() when everything is done.

    The measured seconds go to .run/fault-recovery.json (docs/faults.md's table comes from there);
    the guarantee itself is asserted by the bounded waits, never by timing assertions.
    """

    class Recovery:
        started: float | None = None
        seconds: float | None = None

        def start(self) -> None:
            self.started = time.monotonic()

        def stop(self) -> float:
            assert self.started is not None, "stop() before start()"
            self.seconds = time.monotonic() - self.started
            return self.seconds

    r = Recovery()
    yield r
    if r.seconds is not None:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        results = json.loads(REPORT.read_text()) if REPORT.exists() else {}
        results[request.node.name] = round(r.seconds, 2)
        REPORT.write_text(json.dumps(results, indent=2, sort_keys=True))


def wait_all_succeeded(event_ids, *, timeout: float = 60.0) -> None:
    """Every delivery of these events succeeded, within timeout (the promised recovery bound)."""

    def open_ones():
        return list(
            Delivery.objects.filter(event_id__in=event_ids)
            .exclude(status=Delivery.Status.SUCCEEDED)
            .values_list("pk", "handler", "status", "attempts", "last_error")[:5]
        )

    def done():
        return Delivery.objects.filter(event_id__in=event_ids).exists() and not open_ones()

    try:
        wait_until(done, timeout=timeout, interval=0.2, message="every delivery succeeded")
    except AssertionError:
        raise AssertionError(f"not all deliveries succeeded within {timeout}s; e.g. {open_ones()}") from None

"""`--api-profile DIR`: sample the web workers with py-spy during one extra round per server and
say how much of their busy time the bus's parts of the order request take."""

from __future__ import annotations

import collections
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from bench.profiling import PySpy, _frame

# The bus's share of POST /api/orders/, by the function it runs in (file:function, inclusive).
WATCH = {
    "outbox_write (all of the bus inside the transaction)": "eventbus/outbox.py:outbox_write",
    "payload_validate (JSON schema)": "eventbus/schema.py:payload_validate",
    "to_json (payload)": "eventbus/events.py:to_json",
    "family_members_for (webhook subscriptions SELECT)": "eventbus/registry.py:family_members_for",
    "bulk_create (outbox + items)": "django/db/models/query.py:bulk_create",
    "deliveries_insert (one INSERT … SELECT)": "eventbus/outbox.py:deliveries_insert",
    "publish_deliveries (on commit)": "eventbus/outbox.py:publish_deliveries",
    "wire.send (messages without apply_async)": "eventbus/wire.py:send",
    "apply_async": "celery/app/task.py:apply_async",
    "kombu publish": "kombu/messaging.py:publish",
    "order view post": "orders/api/views.py:post",
    "whole request (WSGIHandler.__call__)": "django/core/handlers/wsgi.py:__call__",
}


def _short(frame: str) -> str:
    for marker in ("/wt-p1/", "/work/main/"):
        frame = frame.split(marker, 1)[-1]
    return frame


def record(pids: list[int], out: Path, run, *, full_filenames: bool = False) -> dict:
    """py-spy on each pid (busy samples only: no --idle) while run() runs; the folded stacks' summary.

    full_filenames: paths as site-packages/<package>/… (py-spy otherwise shortens
    opentelemetry/instrumentation/django/… to django/…)."""
    exe = PySpy.executable()
    if exe is None:
        raise RuntimeError("py-spy is not installed (pip install -r requirements-dev.txt)")
    out.mkdir(parents=True, exist_ok=True)
    procs = []
    for pid in pids:
        path = out / f"web-{pid}.folded"
        cmd = [
            exe,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(path),
            "--nonblocking",
            *(["--full-filenames"] if full_filenames else []),
        ]
        procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), path))
    try:
        import time

        time.sleep(1.0)  # let py-spy attach
        result = run()
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc, _ in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    summary = summarise([p for _, p in procs if p.exists()])
    summary["round"] = result
    return summary


_WAITS = {"wait", "select", "poll", "accept"}


def waiting(frames: list[str]) -> bool:
    """A thread waiting for work: one of its last two frames is a wait (py-spy names methods
    Class.method, e.g. Event.wait)."""
    return any(f.rpartition(":")[2].rpartition(".")[2] in _WAITS for f in frames[-2:])


def stacks(folded: list[Path]) -> Iterator[tuple[list[str], int]]:
    """(frames as path:function, outermost first; samples) for each line of py-spy's raw output."""
    for path in folded:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                yield [_frame(f) for f in stack.split(";")], int(count)


def summarise(folded: list[Path], *, top: int = 30) -> dict:
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    busy = 0
    for raw, n in stacks(folded):
        frames = [_short(f) for f in raw]
        if waiting(frames) and not any(f.endswith("wsgi.py:__call__") for f in frames):
            continue  # a gunicorn thread waiting for work
        busy += n
        for frame in set(frames):
            inclusive[frame] += n
        self_time[frames[-1]] += n

    def pct(n: int) -> float:
        return round(100 * n / busy, 1) if busy else 0.0

    watched = {
        label: pct(sum(v for k, v in inclusive.items() if k.endswith(fn))) for label, fn in WATCH.items()
    }
    return {
        "samples_busy": busy,
        "watched_pct_of_busy": watched,
        "inclusive_pct_of_busy": [[k, pct(v)] for k, v in inclusive.most_common(top)],
        "self_pct_of_busy": [[k, pct(v)] for k, v in self_time.most_common(top)],
        "files": [str(p) for p in folded],
    }


def profile_servers(servers: dict, run_kind, out: Path) -> dict:
    """One extra round per bus mode under py-spy: {mode: summary}."""
    result = {}
    for mode, kind in (("on", "bus_on"), ("off", "bus_off")):
        server = servers[mode]
        workers = server.pids()[1:]
        result[kind] = record(workers, out / kind, lambda k=kind: run_kind(k))
    return result

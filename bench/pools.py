"""The worker pools exactly as `make run` starts them: every `worker_*` line of the Procfile.

The latency target is "commit → all handlers done with the settings `make run` uses", and what
`make run` ships is not one worker on every queue but a pool per handler queue (kitchen,
inventory, notifications, analytics, integrations, events), each with its Procfile concurrency,
log level and names: an order's five deliveries run in five pools at once. Each line runs
through `bash -c` as supervisord's does (the ${VAR:-default} sizes), with bench.settings (the
no-op handlers) and this process's DATABASE_URL and broker. The bench's own worker is paused
meanwhile (bench.worker.Paused), so only these pools consume.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from pizzeria.devservices import procfile_entries
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[1]


class ProcfilePools:
    def __init__(self) -> None:
        self.lines = {
            name: cmd
            for name, cmd in procfile_entries(ROOT / "Procfile").items()
            if name.startswith("worker_")
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs = Path(tempfile.mkdtemp(prefix="pz-bench-pools-"))

    def start(self, control_app, *, others: int, timeout: float = 60.0) -> ProcfilePools:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }  # celery
        for name, cmd in self.lines.items():
            with (self.logs / f"{name}.log").open("wb") as log:
                self.procs[name] = subprocess.Popen(
                    ["bash", "-c", f"exec {cmd}"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )

        def answering() -> bool:
            exited = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
            if exited:
                raise RuntimeError(f"Procfile pools exited {exited}; logs in {self.logs}")
            return len(control_app.control.ping(timeout=0.5) or []) >= len(self.procs) + others

        try:
            wait_until(
                answering, timeout=timeout, interval=0.2, message=f"the Procfile's {len(self.procs)} pools"
            )
        except BaseException:
            self.stop()
            raise
        return self

    def description(self) -> dict[str, str]:
        return dict(self.lines)

    def stop(self, timeout: float = 20.0) -> None:
        for p in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)

"""--failure-rate: a provider stub that fails a share of calls, and a notifications worker that uses it.

The running stack's workers read their provider settings when they start, so the simulation cannot
re-point them. Instead it starts its own notifications worker (this database and broker, the
providers pointed at the stub with stand-in credentials) and, for the length of the run, asks the
other workers to stop consuming the notifications queue (Celery remote control: cancel_consumer);
it gives them the queue back (add_consumer) when it ends, Ctrl-C included.
"""

from __future__ import annotations

import logging
import os

from django.conf import settings
from django.db import connection

from pizzeria.celery import app
from simulation.providerstub import ProviderStub
from simulation.workerproc import WorkerProcess

logger = logging.getLogger(__name__)
QUEUE = "notifications"


def database_url() -> str:
    """This process's database as a DATABASE_URL, for a worker subprocess to use the same one."""
    s = connection.settings_dict
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    host = s["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


# --late-rate: the stub answers that share of sends this long after the worker's provider timeout.
LATE_TIMEOUT = 1.5
LATE_DELAY = 3.0


class FaultyProviders:
    def __init__(
        self,
        *,
        failure_rate: float,
        seed: int | None,
        late_rate: float = 0.0,
        concurrency: int = 2,
        port: int = 0,
    ) -> None:
        self.stub = ProviderStub(
            failure_rate=failure_rate, late_rate=late_rate, timeout_delay=LATE_DELAY, seed=seed, port=port
        )
        self.late_rate = late_rate
        self.concurrency = concurrency
        self.worker: WorkerProcess | None = None
        self.paused: list[str] = []

    def __enter__(self) -> FaultyProviders:
        self.stub.start()
        try:
            self.worker = WorkerProcess(
                prefix="simulate-notifications",
                queues=(QUEUE,),
                concurrency=self.concurrency,
                loglevel="WARNING",
                new_session=True,  # Ctrl-C reaches us, and we stop it in order
                env={
                    "DJANGO_SETTINGS_MODULE": os.environ.get(
                        "DJANGO_SETTINGS_MODULE", "pizzeria.settings.base"
                    ),
                    "DATABASE_URL": database_url(),
                    "REDIS_URL": settings.REDIS_URL,
                    # Stand-in credentials: the providers' SDKs need some to send at all.
                    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                    "TWILIO_AUTH_TOKEN": "simulated",
                    "TWILIO_FROM_NUMBER": "+15005550006",
                    "TWILIO_MESSAGING_SERVICE_SID": "",
                    "TWILIO_API_BASE_URL": self.stub.url,
                    "SENDGRID_API_KEY": "SG.simulated",
                    "SENDGRID_API_HOST": self.stub.url,
                    "PUBLIC_BASE_URL": "",  # no status callbacks to a stub
                    # Every simulated customer has the same (Twilio test) number: the hourly cap
                    # per recipient would suppress all but the first SMS of the run.
                    "SMS_PER_RECIPIENT_PER_HOUR": "1000000",
                    **({"NOTIFY_HTTP_TIMEOUT": str(LATE_TIMEOUT)} if self.late_rate else {}),
                },
            ).start()
            self._pause_others()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _pause_others(self) -> None:
        active: dict = {}
        for _ in range(2):  # a busy worker may miss one round of replies
            active.update(app.control.inspect(timeout=1.0).active_queues() or {})
        ours = self.worker.name if self.worker is not None else None
        self.paused = [
            name
            for name, queues in active.items()
            if name != ours and any(q["name"] == QUEUE for q in queues)
        ]
        if self.paused:
            app.control.cancel_consumer(QUEUE, destination=self.paused, reply=True, timeout=2.0)
            logger.info("Simulation: paused the %s queue on %s", QUEUE, ", ".join(self.paused))

    def __exit__(self, *exc: object) -> None:
        if self.paused:
            app.control.add_consumer(QUEUE, destination=self.paused, reply=True, timeout=2.0)
            self.paused = []
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        self.stub.stop()

    def alive(self) -> bool:
        return self.worker is not None and self.worker.alive()

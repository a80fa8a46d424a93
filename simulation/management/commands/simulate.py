"""python manage.py simulate --orders N --rate R [--customers C] [--failure-rate F] [--late-rate L] [--seed S]"""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console

from simulation.customers import ApiError
from simulation.runner import Options, Simulation


def _stop(signum: int, frame: FrameType | None) -> NoReturn:
    # Unwind like Ctrl-C, so the stack's notifications consumers are given back and our worker stops.
    raise KeyboardInterrupt(f"signal {signum}")


def _share(value: str) -> float:
    share = float(value)
    if not 0.0 <= share < 1.0:
        raise ValueError("a share between 0 and 1 (exclusive)")
    return share


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("a positive number")
    return number


class Command(BaseCommand):
    help = (
        "Bring the shop to life: customers order through the HTTP API at a steady rate, simulated staff "
        "cook and deliver through the kitchen's services, optionally a share of SMS/e-mail provider calls "
        "fail; a live display, then a summary table. Run it against a running stack (`make run`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, required=True, help="How many orders to place.")
        parser.add_argument("--rate", type=_positive, default=1.0, help="Orders per second (default 1).")
        parser.add_argument(
            "--customers",
            type=int,
            default=None,
            help="Customers ordering (default: enough to stay under the order throttle).",
        )
        parser.add_argument(
            "--failure-rate",
            type=_share,
            default=0.0,
            help="Share of provider calls that fail (503), e.g. 0.3. Starts a local fault "
            "stub and its own notifications worker for the run.",
        )
        parser.add_argument(
            "--late-rate",
            type=_share,
            default=0.0,
            help="Share of provider sends the fault stub accepts but answers only after the "
            "worker's timeout (an unknown outcome the next attempt must reconcile), e.g. 0.05.",
        )
        parser.add_argument("--seed", type=int, default=None, help="Make the run repeatable.")
        parser.add_argument(
            "--cancel-rate",
            type=_share,
            default=0.0,
            help="Share of orders their customer tries to cancel soon after placing.",
        )
        parser.add_argument(
            "--minute",
            type=_positive,
            default=1.0,
            help="Real seconds per shop minute (cooking takes 8-14 shop minutes). Default 1.",
        )
        parser.add_argument(
            "--base-url",
            default=f"http://127.0.0.1:{os.environ.get('PORT') or 8000}",
            help="Where the web server answers (default: 127.0.0.1 on $PORT, as `make run`).",
        )
        parser.add_argument(
            "--timeout", type=_positive, default=600.0, help="Give up after this many seconds (default 600)."
        )
        parser.add_argument(
            "--stub-port", type=int, default=0, help="Port for the fault stub (default: any)."
        )
        parser.add_argument(
            "--stub-log",
            default="",
            help="Write every call the fault stub saw to this file (JSON lines), to compare with "
            "Admin → Notifications.",
        )

    def handle(self, *args: Any, **o: Any) -> None:
        if o["orders"] < 1:
            raise CommandError("--orders must be at least 1")
        if o["customers"] is not None and o["customers"] < 1:
            raise CommandError("--customers must be at least 1")
        options = Options(
            orders=o["orders"],
            rate=o["rate"],
            base_url=o["base_url"],
            customers=o["customers"],
            failure_rate=o["failure_rate"],
            late_rate=o["late_rate"],
            seed=o["seed"],
            cancel_rate=o["cancel_rate"],
            minute=o["minute"],
            timeout=o["timeout"],
            stub_port=o["stub_port"],
            stub_log=o["stub_log"],
        )
        root, level = logging.getLogger(), logging.getLogger().level
        if o["verbosity"] < 2:
            # INFO lines from the services and the bus would scroll the live display away.
            root.setLevel(logging.WARNING)
        previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
        console = Console(
            file=getattr(self.stdout, "_out", sys.stdout)
        )  # the command's stream (call_command(stdout=...))
        try:
            summary = Simulation(options, console=console).run()
        except ApiError as exc:
            raise CommandError(f"{exc} (is the stack running at {options.base_url}? `make run`)") from exc
        finally:
            root.setLevel(level)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        console.print()
        console.print(summary.table())
        self.last_summary = summary  # for callers that run the command in-process (tests)
        if not summary.finished:
            raise CommandError("Not every order and delivery finished; see the table above.")

"""`make run` as a newcomer starts it, and every development command the docs print, pasted as written.

The stack starts the way `make run` starts it (`python -m pizzeria.devservices run`, no
DATABASE_URL, no REDIS_URL: an embedded PostgreSQL and Valkey), in a state directory of its own
(PIZZERIA_RUN_DIR) so a developer's own `make run` is left alone. A decoy Redis listens on 6379,
where a wrong fallback would publish; nothing may reach it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis

from pizzeria.devservices import procfile_entries, stop_leftovers
from tests.polling import wait_until
from tests.worker import REDIS_SERVER, free_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ".venv/bin/python"
SHELL_EXAMPLE = (
    "from eventbus import registry; print(*sorted(s.name for s in registry.all_handlers()), sep='\\n')"
)
# Each command as the README, docs/ and `make run`'s banner print it (subcommand → argv after
# manage.py), run from another shell while the stack runs.
COMMANDS = {
    "deadletters": [["deadletters", "list"], ["deadletters", "groups"]],
    "analytics_rebuild": [["analytics_rebuild"]],
    "shell": [["shell", "-c", SHELL_EXAMPLE]],
    "simulate": [["simulate", "--help"], ["simulate", "--orders", "2"]],
    "cloudevent_payment": [["cloudevent_payment", "--order", "1"]],
}
# Printed, but not run here, and why.
NOT_RUN = {
    "webhook_receiver": "a server that runs until Ctrl-C",
    "check": "run by make check (tests/pizzeria/test_settings.py covers the settings it loads)",
}
CONFIG = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "DJANGO_ENV_FILE",
)


def documented_subcommands() -> set[str]:
    """`manage.py <subcommand>` in the fenced blocks and inline code of README.md and docs/."""
    found = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        found |= set(re.findall(r"\.venv/bin/python manage\.py ([a-z_]+)", doc.read_text()))
    found |= set(re.findall(r"manage\.py ([a-z_]+)", (ROOT / "pizzeria" / "devservices.py").read_text()))
    return found


def test_every_documented_development_command_is_run_by_the_test_below():
    documented = documented_subcommands()
    assert {"deadletters", "simulate", "shell"} <= documented
    assert documented - set(COMMANDS) - set(NOT_RUN) == set()


class DevStack:
    """`python -m pizzeria.devservices run` in a process group of its own (Ctrl-C = SIGINT to it)."""

    def __init__(self, run_dir: Path, log: Path) -> None:
        self.run_dir = run_dir
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if k not in CONFIG}
        self.env.update(
            PIZZERIA_RUN_DIR=str(run_dir), PORT=str(self.port), DJANGO_ENV_FILE=os.devnull,
            WEB_CONCURRENCY="1", WEB_THREADS="4",
        )  # fmt: skip
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> DevStack:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "pizzeria.devservices", "run"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                env={**self.env, "DJANGO_SETTINGS_MODULE": "pizzeria.settings.dev"}, start_new_session=True,
            )  # fmt: skip
        wait_until(self.web_ok, timeout=180, interval=0.5, message=f"web on {self.port}:\n{self.tail()}")
        return self

    def web_ok(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.tail()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:]) if self.log.exists() else ""

    def manage(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        """A command pasted into another shell: no settings module, no service addresses."""
        return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip

    def signal_group(self, sig: int, timeout: float = 90) -> int:
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)
        return self.proc.wait(timeout=timeout)


def postgres_on(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(data_dir) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


@pytest.fixture
def decoy_redis():
    """Something answering on 6379, as on many Django developers' machines."""
    with socket.socket() as s:
        taken = s.connect_ex(("127.0.0.1", 6379)) == 0
    proc = None
    if not taken:
        proc = subprocess.Popen([REDIS_SERVER, "--port", "6379", "--bind", "127.0.0.1", "--save", ""],
                                stdout=subprocess.DEVNULL)  # fmt: skip
    client = redis.Redis(port=6379)
    wait_until(lambda: client.ping(), timeout=10, message="decoy redis on 6379")
    queues = ("events", "kitchen", "inventory", "notifications", "analytics", "integrations")
    # What a process that fell back to redis://localhost:6379/0 leaves: queues, kombu bindings.
    before = {k for k in client.scan_iter(count=1000) if k.decode(errors="replace").split(".")[0] in queues
              or k.startswith(b"_kombu")}  # fmt: skip
    connections = int(client.info("stats")["total_connections_received"])
    yield client, before, (connections if proc else None)
    client.close()
    if proc:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def dev_stacks(tmp_path):
    """Stacks the test starts; whatever is still running at the end (a failed assertion) is killed."""
    stacks: list[DevStack] = []

    def start() -> DevStack:
        stacks.append(DevStack(tmp_path / "run", tmp_path / "stack.log"))
        return stacks[-1].start()

    yield start
    for stack in stacks:
        if stack.proc is not None and stack.proc.poll() is None:
            stack.signal_group(signal.SIGKILL)
    stop_leftovers(tmp_path / "run", wait=5)  # the programs a failed assertion left after a SIGKILL
    for proc in postgres_on((tmp_path / "run" / "postgres").resolve()):
        proc.kill()
    # Belt and braces beside stop_leftovers: anything else that inherited this run's directory. Left
    # alive, its workers would take messages from the next run's Valkey on that port.
    left = started_from(tmp_path / "run")
    for proc in left:
        proc.kill()
    psutil.wait_procs(left, timeout=10)


def started_from(run_dir: Path) -> list[psutil.Process]:
    """Every process a `make run` with this run directory started (they inherit PIZZERIA_RUN_DIR)."""
    found = []
    for proc in psutil.process_iter(["environ"]):
        if (proc.info["environ"] or {}).get("PIZZERIA_RUN_DIR") == str(run_dir):
            found.append(proc)
    return found


def test_make_run_then_every_documented_command_reaches_that_stack_and_data_survives_a_kill(
    tmp_path, decoy_redis, dev_stacks
):
    client, keys_before, connections_before = decoy_redis
    stack = dev_stacks()
    services = (tmp_path / "run" / "services.env").read_text()
    assert (
        "DATABASE_URL=postgres://postgres@127.0.0.1:" in services
        and "REDIS_URL=redis://127.0.0.1:" in services
    )
    assert ":6379/" not in services

    # when each documented command is pasted into another shell
    outputs = {}
    for argvs in COMMANDS.values():
        for argv in argvs:
            result = stack.manage(*argv)
            assert result.returncode == 0, f"manage.py {' '.join(argv)}:\n{result.stdout}\n{result.stderr}"
            outputs[argv[0], argv[-1]] = result.stdout
    assert "notifications.handlers.sms_order_confirmation" in outputs["shell", SHELL_EXAMPLE]
    assert "curl" in outputs["cloudevent_payment", "1"]
    counted = stack.manage("shell", "-c", "from orders.models import Order; print(Order.objects.filter("
                                          "status='delivered').count(), Order.objects.count())")  # fmt: skip
    delivered, total = map(int, counted.stdout.splitlines()[-1].split())
    assert delivered >= 2 and total >= 2, counted.stdout  # simulate --orders 2 finished: both delivered

    # a second `make run` in the same checkout is refused at once, and leaves the first alone
    second = subprocess.run([PYTHON, "-m", "pizzeria.devservices", "run"], cwd=ROOT, capture_output=True, text=True,
                            env={**stack.env, "DJANGO_SETTINGS_MODULE": "pizzeria.settings.dev"}, timeout=60)  # fmt: skip
    assert second.returncode != 0 and "is using this checkout's .run/postgres" in second.stderr, second.stderr
    assert stack.web_ok()

    # given `make run` killed with SIGKILL (its PostgreSQL, in a session of its own, is left running)
    data_dir = (tmp_path / "run" / "postgres").resolve()
    programs = [int(pid) for pid in (tmp_path / "run" / "programs.pids").read_text().split()]
    assert len(programs) >= len(procfile_entries()), programs  # web, every pool, beat
    stack.signal_group(signal.SIGKILL)
    assert postgres_on(data_dir), "the embedded PostgreSQL should outlive a SIGKILLed make run"
    orphans = [pid for pid in programs if psutil.pid_exists(pid)]
    assert orphans, "supervisord's programs, each in a group of its own, should outlive the SIGKILL"

    # when `make run` starts again: the leftover server and programs are stopped, a new server
    # serves the same data
    stack = dev_stacks()
    log = stack.log.read_text()
    assert "stopping the PostgreSQL an earlier run left behind" in log
    assert re.search(r"stopping [1-9]\d* processes an earlier run left behind", log), log[-3000:]
    assert not [pid for pid in orphans if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    again = stack.manage("shell", "-c", "from orders.models import Order; print(Order.objects.count())")
    assert again.returncode == 0 and int(again.stdout.splitlines()[-1]) == total, again.stdout + again.stderr

    # when Ctrl-C: every process stops, the embedded PostgreSQL included, and the addresses go
    assert stack.signal_group(signal.SIGINT) == 0, stack.tail()
    assert not postgres_on(data_dir)
    assert not (tmp_path / "run" / "services.env").exists()
    refused = stack.manage("deadletters", "list")
    assert refused.returncode != 0 and "make run" in refused.stderr and "Traceback" not in refused.stderr

    # then nothing went to the Redis on 6379
    keys_after = {k for k in client.scan_iter(count=1000) if k.startswith(b"_kombu") or
                  k.decode(errors="replace").split(".")[0] in ("kitchen", "notifications", "analytics")}  # fmt: skip
    assert keys_after <= keys_before, f"new keys on the Redis at 6379: {keys_after - keys_before}"
    if connections_before is not None:  # our own decoy: only this test's client ever connected
        assert int(client.info("stats")["total_connections_received"]) == connections_before


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_while_the_servers_start_stops_them_and_the_command_never_runs(tmp_path, sig):
    # A closed terminal while `make test` is still starting its servers: before, the default action
    # ended devservices at once and left the embedded Valkey (its child) and PostgreSQL running.
    env = {k: v for k, v in os.environ.items() if k not in CONFIG}
    env["PIZZERIA_RUN_DIR"] = str(tmp_path / "run")
    marker = tmp_path / "ran"
    proc = subprocess.Popen(
        [PYTHON, "-m", "pizzeria.devservices", "exec", "--throwaway", "--",
         PYTHON, "-c", f"open({str(marker)!r}, 'w')"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = ""
        while "embedded PostgreSQL on" not in first:  # PostgreSQL is up; Valkey is starting or about to
            first = proc.stdout.readline()
            assert first, "devservices ended before PostgreSQL was up"
        os.kill(proc.pid, sig)
        rest = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 128 + sig, rest
    assert not marker.exists()
    assert "embedded Valkey stopped" in rest and "embedded PostgreSQL stopped" in rest, rest
    port = int(re.search(r"127\.0\.0\.1:(\d+)", first)[1])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the embedded PostgreSQL still listens"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_sigterm_or_sighup_to_devservices_alone_stops_its_command_and_both_servers(tmp_path, sig):
    # `kill <pid>`, a process manager or a closed terminal signals devservices, not its process group
    env = {k: v for k, v in os.environ.items() if k not in CONFIG}
    env["PIZZERIA_RUN_DIR"] = str(tmp_path / "run")
    sleeper = [PYTHON, "-c", "import time; time.sleep(300)"]
    proc = subprocess.Popen(
        [PYTHON, "-m", "pizzeria.devservices", "exec", "--throwaway", "--", *sleeper],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ports = {}
        while len(ports) < 2:
            line = proc.stdout.readline()
            assert line, "devservices ended before both servers were up"
            if found := re.search(r"embedded (PostgreSQL|Valkey) on \w+://[^@/]*@?127\.0\.0\.1:(\d+)", line):
                ports[found[1]] = int(found[2])

        def the_command():  # not the embedded Valkey, its other child
            return next(
                (c for c in psutil.Process(proc.pid).children() if "time.sleep" in " ".join(c.cmdline())),
                None,
            )

        wait_until(the_command, timeout=30, message="the command started")
        command = the_command()
        # when
        os.kill(proc.pid, sig)
        rest = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # then the command got the signal, and both servers were stopped, not left running
    assert not command.is_running()
    assert "embedded PostgreSQL stopped" in rest and "embedded Valkey stopped" in rest, rest
    for name, port in ports.items():
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"the embedded {name} still listens on {port}"

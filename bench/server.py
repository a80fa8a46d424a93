"""The web process as the Procfile runs it (gunicorn, its worker class and counts), for the API phase.

The command is the Procfile's `web:` line with its ${VAR:-default} defaults expanded (only the
bind address and port are the bench's), so a change there is measured here too. The server runs
in its own session and is always stopped: SIGTERM, then SIGKILL to its process group.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")


def procfile_web_command(*, host: str, port: int, procfile: Path = ROOT / "Procfile") -> list[str]:
    line = next(ln for ln in procfile.read_text().splitlines() if ln.startswith("web:"))
    given = {"BIND_HOST": host, "PORT": str(port)}
    cmd = shlex.split(_DEFAULT.sub(lambda m: given.get(m.group(1), m.group(2)), line.partition(":")[2]))
    local = Path(sys.executable).parent / cmd[0]  # the venv's gunicorn
    if local.exists():
        cmd[0] = str(local)
    return cmd


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class WebServer:
    def __init__(self, name: str, env: dict[str, str], log_dir: Path, *, host: str = "127.0.0.1") -> None:
        self.name = name
        self.host = host
        self.port = free_port(host)
        self.cmd = procfile_web_command(host=host, port=self.port)
        self.env = {**os.environ, **env}
        self.log_path = log_dir / f"web-{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, *, timeout: float = 60.0) -> WebServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn {self.name} exited ({self.proc.returncode}):\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"gunicorn {self.name} not answering /healthz after {timeout:.0f}s:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def pids(self) -> list[int]:
        """The master and its workers."""
        import psutil

        if self.proc is None or self.proc.poll() is not None:
            return []
        master = psutil.Process(self.proc.pid)
        return [master.pid, *(c.pid for c in master.children())]

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(psutil.Error):
                t = psutil.Process(pid).cpu_times()
                total += t.user + t.system
        return total

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # a worker left behind

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

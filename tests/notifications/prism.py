"""Stoplight Prism mocks of the providers' OpenAPI definitions, for the contract tests.

Installed into tests/notifications/prism/ from its package-lock.json (`npm ci`) when missing;
each mock runs on a free port and is stopped by its pid.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.polling import wait_until
from tests.worker import free_port

HERE = Path(__file__).resolve().parent
PRISM_DIR = HERE / "prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
SPECS = HERE / "providers"


def node_missing_reason() -> str | None:
    if shutil.which("node") is None:
        return "contract tests need Node.js (node) to run Stoplight Prism; it is not on PATH"
    if not PRISM_BIN.exists() and shutil.which("npm") is None:
        return "contract tests need npm to install Stoplight Prism; it is not on PATH"
    return None


def ensure_installed() -> None:
    if PRISM_BIN.exists():
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PRISM_DIR, check=True, timeout=600
    )


class PrismMock:
    def __init__(self, spec: str) -> None:
        self.spec = SPECS / spec
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(f"/tmp/prism-{self.port}.log")
        self.proc: subprocess.Popen | None = None

    def start(self, *, timeout: float = 30.0) -> PrismMock:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - Prism's stdout until stop() closes it
        self.proc = subprocess.Popen(
            [str(PRISM_BIN), "mock", "-h", "127.0.0.1", "-p", str(self.port), str(self.spec)],
            cwd=PRISM_DIR,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

        proc = self.proc

        def listening() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"Prism exited with {proc.returncode}:\n{self.log()}")
            return "is listening on" in self.log()

        try:
            wait_until(listening, timeout=timeout, interval=0.1, message="Prism to listen")
        except AssertionError:
            self.stop()
            raise RuntimeError(f"Prism did not start within {timeout}s:\n{self.log()}") from None
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        self.log_path.unlink(missing_ok=True)

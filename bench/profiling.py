"""Optional: sample the worker's pool processes with py-spy while an extra (unmeasured) pipeline
pass runs, and summarise where their time goes."""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from pathlib import Path


class PySpy:
    def __init__(self, pids: list[int], out_dir: Path, *, rate: int = 500) -> None:
        self.pids = pids
        self.out_dir = out_dir
        self.rate = rate
        self.procs: list[tuple[int, subprocess.Popen, Path]] = []

    @staticmethod
    def executable() -> str | None:
        local = Path(sys.executable).parent / "py-spy"
        return str(local) if local.exists() else shutil.which("py-spy")

    def __enter__(self) -> PySpy:
        exe = self.executable()
        if exe is None:
            raise RuntimeError("py-spy is not installed (pip install -r requirements-dev.txt)")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for pid in self.pids:
            out = self.out_dir / f"worker-{pid}.folded"  # the pool processes' stacks are tagged by pid
            cmd = [
                exe,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(self.rate),
                "--format",
                "raw",
                "--output",
                str(out),
                "--nonblocking",
                "--idle",
                "--subprocesses",
            ]
            self.procs.append(
                (pid, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), out)
            )
        return self

    def __exit__(self, *exc) -> None:
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for _, proc, _ in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def outputs(self) -> list[Path]:
        return [out for _, _, out in self.procs if out.exists()]


def summarise(folded: list[Path], *, top: int = 25) -> dict:
    """Self and inclusive sample shares per function (file:function), over every pool process.

    Idle samples (waiting for the next message) are counted separately, so the shares are of busy time.
    """
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    busy = idle = 0
    for path in folded:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [_frame(f) for f in stack.split(";")]
            if _is_idle(frames):
                idle += n
                continue
            busy += n
            for frame in set(frames):
                inclusive[frame] += n
            self_time[frames[-1]] += n

    def table(counter):
        return [[name, round(100 * n / busy, 1)] for name, n in counter.most_common(top)] if busy else []

    return {
        "samples_busy": busy,
        "samples_idle": idle,
        "inclusive_pct_of_busy": table(inclusive),
        "self_pct_of_busy": table(self_time),
        "files": [str(p) for p in folded],
    }


def _frame(raw: str) -> str:
    # py-spy raw frames: "function (path/to/file.py:line)"
    name, _, where = raw.partition(" (")
    where = where.rstrip(")")
    path, _, _line = where.rpartition(":")
    for marker in ("site-packages/", "lib/python"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = path.split("/work/main/", 1)[-1]
    return f"{path}:{name}"


IDLE_FUNCTIONS = {"_recv", "_recv_bytes", "select", "poll", "wait"}
IDLE_MODULES = ("billiard/", "kombu/", "threading.py", "selectors.py", "multiprocessing/")


def _is_idle(frames: list[str]) -> bool:
    # Blocked waiting for work: a pool process reading its next job from the parent, the main
    # process polling the broker, a timer thread sleeping. (psycopg's wait is the database: busy.)
    def waiting(frame: str) -> bool:
        path, _, name = frame.rpartition(":")
        return name.rpartition(".")[2] in IDLE_FUNCTIONS and path.startswith(IDLE_MODULES)

    return any(waiting(f) for f in frames[-3:]) and not any(
        ":execute_using_pool" in f or "trace_task" in f for f in frames
    )

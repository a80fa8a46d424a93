"""Pure helpers: spreads over rounds, percentiles, the machine's load. No Django, no broker."""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterable


def percentile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def spread(values: Iterable[float], *, digits: int = 3) -> dict:
    """min / median / max of one figure over rounds, with the values in round order."""
    values = [v for v in values if v is not None]
    if not values:
        return {"min": None, "median": None, "max": None, "values": [], "rounds": 0}
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
        "values": [round(v, digits) for v in values],
        "rounds": len(values),
    }


def latency_percentiles(ms: list[float]) -> dict:
    ms = sorted(ms)
    if not ms:
        return {"p50": None, "p95": None, "p99": None, "min": None, "max": None, "mean": None, "samples": 0}
    return {
        "p50": round(percentile(ms, 50), 2),
        "p95": round(percentile(ms, 95), 2),
        "p99": round(percentile(ms, 99), 2),
        "min": round(ms[0], 2),
        "max": round(ms[-1], 2),
        "mean": round(statistics.fmean(ms), 2),
        "samples": len(ms),
    }


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def busy_warning(load: list[float], cores: int, *, when: str, threshold: float = 0.5) -> str | None:
    """A sentence when the 1-minute load average says other work shares the CPUs, else None."""
    if load and load[0] > cores * threshold:
        return (
            f"machine busy {when}: load average {load[0]:.2f} on {cores} cores (> {threshold:g} per core); "
            "other processes share the CPUs, figures are lower and noisier than on a quiet machine"
        )
    return None


def growth(before: float | None, after: float | None) -> float | None:
    """(after - before) / before, rounded; None when either is missing or before is 0."""
    if not before or after is None:
        return None
    return round((after - before) / before, 4)

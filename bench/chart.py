"""An SVG chart next to the JSON, written by hand: no plotting dependency for three small panels.

(matplotlib is not in .venv; adding it, with numpy and pillow, for one picture per run is not worth it.)

  1. commit → all handlers done: the cumulative distribution per broker, the 15 / 50 ms targets marked
  2. throughput per broker: bare Celery, in-project baseline, pipeline (median bar, min–max whisker)
  3. the API A/B: requests/s per kind and round (bus on, bus off, minimal create) when that phase ran
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

W, PANEL_H, PAD = 720, 250, 56
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")


def api_bars(api) -> list[tuple[str, list[float]]]:
    """(kind, requests/s per round) from the API phase's rounds (bench/api.py); /healthz, the client's
    ceiling, is left out so the order and minimal-create bars keep a readable scale."""
    if not isinstance(api, dict) or not isinstance(api.get("rounds"), list):
        return []
    bars: dict[str, list[float]] = {}
    for r in api["rounds"]:
        if isinstance(r, dict) and r.get("kind") != "healthz" and isinstance(r.get("rps"), (int, float)):
            bars.setdefault(str(r["kind"]), []).append(float(r["rps"]))
    return list(bars.items())


def _panel_frame(y0: int, title: str, x_label: str, y_label: str) -> list[str]:
    return [
        f'<text x="{PAD}" y="{y0 + 18}" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{PAD}" y1="{y0 + PANEL_H - PAD}" x2="{W - 20}" y2="{y0 + PANEL_H - PAD}" stroke="#333"/>',
        f'<line x1="{PAD}" y1="{y0 + 30}" x2="{PAD}" y2="{y0 + PANEL_H - PAD}" stroke="#333"/>',
        f'<text x="{(W + PAD) // 2}" y="{y0 + PANEL_H - 18}" font-size="11" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="14" y="{y0 + PANEL_H // 2}" font-size="11" transform="rotate(-90 14 {y0 + PANEL_H // 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>',
    ]


def _nice_max(v: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above v."""
    for exp in range(-2, 9):
        for step in (1, 2, 5):
            if step * 10**exp >= v:
                return float(step * 10**exp)
    return float(v)


def latency_panel(series: dict[str, list[float]], y0: int) -> list[str]:
    out = _panel_frame(
        y0, "commit → all handlers done (cumulative)", "milliseconds (log scale)", "% of orders"
    )
    values = [x for s in series.values() for x in s]
    if not values:
        return out + [
            f'<text x="{W // 2}" y="{y0 + PANEL_H // 2}" text-anchor="middle">no latency phase</text>'
        ]
    # A log scale: the targets (15, 50 ms) and a saturated run's seconds fit on one axis.
    xmin, xmax = 1.0, _nice_max(max(100.0, max(values)))
    left, right, top, bottom = PAD, W - 20, y0 + 30, y0 + PANEL_H - PAD
    span = math.log10(xmax / xmin)

    def sx(ms):
        return left + (right - left) * math.log10(min(max(ms, xmin), xmax) / xmin) / span

    def sy(frac):
        return bottom - (bottom - top) * frac

    tick = xmin
    while tick <= xmax:
        out.append(
            f'<text x="{sx(tick):.0f}" y="{bottom + 14}" font-size="10" text-anchor="middle">{tick:,.0f}</text>'
        )
        out.append(
            f'<line x1="{sx(tick):.1f}" y1="{top}" x2="{sx(tick):.1f}" y2="{bottom}" stroke="#f2f2f2"/>'
        )
        tick *= 10
    for pct in (0, 50, 90, 100):
        out.append(
            f'<text x="{left - 4}" y="{sy(pct / 100) + 3:.0f}" font-size="10" text-anchor="end">{pct}</text>'
        )
        out.append(
            f'<line x1="{left}" y1="{sy(pct / 100):.1f}" x2="{right}" y2="{sy(pct / 100):.1f}" stroke="#eee"/>'
        )
    for k, (target, label) in enumerate(((15, "p50 ≤ 15 ms"), (50, "p99 ≤ 50 ms"))):
        out.append(
            f'<line x1="{sx(target):.1f}" y1="{top}" x2="{sx(target):.1f}" y2="{bottom}" '
            'stroke="#888" stroke-dasharray="4 3"/>'
        )
        out.append(
            f'<text x="{sx(target) + 3:.1f}" y="{top + 10 + 12 * k}" font-size="10" fill="#555">{label}</text>'
        )
    for i, (name, samples) in enumerate(series.items()):
        s = sorted(samples)
        if not s:
            continue
        pts = " ".join(f"{sx(x):.1f},{sy((k + 1) / len(s)):.1f}" for k, x in enumerate(s))
        colour = COLOURS[i % len(COLOURS)]
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{sx(s[0]):.1f},{sy(0):.1f} {pts}"/>'
        )
        out.append(
            f'<text x="{right - 4}" y="{sy(0.1 + 0.08 * i):.0f}" font-size="11" text-anchor="end" '
            f'fill="{colour}">{escape(name)} ({len(s)} orders)</text>'
        )
    return out


def bars_panel(title: str, y_label: str, bars: list[tuple[str, list[float]]], y0: int) -> list[str]:
    out = _panel_frame(y0, title, "", y_label)
    if not bars:
        return out + [
            f'<text x="{W // 2}" y="{y0 + PANEL_H // 2}" text-anchor="middle">not measured in this run</text>'
        ]
    left, right, top, bottom = PAD, W - 20, y0 + 30, y0 + PANEL_H - PAD
    ymax = _nice_max(max(max(v) for _, v in bars) * 1.1)
    slot = (right - left) / len(bars)

    def sy(v):
        return bottom - (bottom - top) * v / ymax

    for i in range(5):
        v = ymax * i / 4
        out.append(
            f'<text x="{left - 4}" y="{sy(v) + 3:.0f}" font-size="10" text-anchor="end">{v:,.0f}</text>'
        )
    for i, (label, values) in enumerate(bars):
        values = sorted(values)
        med = (
            values[len(values) // 2]
            if len(values) % 2
            else (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2
        )
        x = left + slot * i + slot * 0.2
        w = slot * 0.6
        colour = COLOURS[i % len(COLOURS)]
        out.append(
            f'<rect x="{x:.1f}" y="{sy(med):.1f}" width="{w:.1f}" height="{bottom - sy(med):.1f}" '
            f'fill="{colour}" opacity="0.8"/>'
        )
        if len(values) > 1:
            cx = x + w / 2
            out.append(
                f'<line x1="{cx:.1f}" y1="{sy(values[0]):.1f}" x2="{cx:.1f}" y2="{sy(values[-1]):.1f}" '
                'stroke="#000" stroke-width="1.2"/>'
            )
        out.append(
            f'<text x="{x + w / 2:.1f}" y="{sy(med) - 4:.1f}" font-size="10" text-anchor="middle">{med:,.0f}</text>'
        )
        out.append(
            f'<text x="{x + w / 2:.1f}" y="{bottom + 14}" font-size="10" text-anchor="middle">{escape(label)}</text>'
        )
    return out


def throughput_bars(results: dict) -> list[tuple[str, list[float]]]:
    brokers = results.get("brokers") or {results.get("broker", "broker"): results}
    bars = []
    for name, r in brokers.items():
        t = (r or {}).get("throughput") or {}
        for key, label in (
            ("bare_tasks_per_s", "bare"),
            ("baseline_tasks_per_s", "in-project"),
            ("pipeline_deliveries_per_s", "pipeline"),
            ("pipeline_live_deliveries_per_s", "pipeline, live"),
        ):
            if isinstance(t.get(key), dict) and t[key].get("values"):
                bars.append((f"{name}: {label}", t[key]["values"]))
    return bars


def latency_series(results: dict) -> dict[str, list[float]]:
    brokers = results.get("brokers") or {results.get("broker", "broker"): results}
    return {
        name: ((r or {}).get("commit_to_done_ms") or {}).get("samples_ms") or []
        for name, r in brokers.items()
    }


def svg(results: dict) -> str:
    parts = latency_panel(latency_series(results), 0)
    parts += bars_panel(
        "throughput (median, min–max over rounds)", "per second", throughput_bars(results), PANEL_H
    )
    parts += bars_panel("API A/B (requests/s)", "requests/s", api_bars(results.get("api")), 2 * PANEL_H)
    load = (results.get("machine") or {}).get("loadavg_at_start")
    note = f"load average at start {load}" if load else ""
    height = 3 * PANEL_H + 20
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" '
        'font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n'
        + "\n".join(parts)
        + f'\n<text x="{W - 20}" y="{height - 6}" font-size="10" text-anchor="end" fill="#666">'
        f"{escape(str(results.get('started_at', '')))} {escape(note)}</text>\n</svg>\n"
    )


def write(results: dict, path: Path) -> Path:
    path.write_text(svg(results))
    return path

"""The HTML report of a run: key figures and latency plots as inline SVG.

No plotting library: a percentile curve and a scatter are a few lines of SVG, and the file
opens anywhere without a network. Percentile curves put the percentile on x and the time
on y, so p50 and p99 read straight off the plot; with ``--compare-relay`` azuchi and the
relay share each plot.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from load_tests.stats import Metrics, percentile

WIDTH, HEIGHT = 640, 280
PAD_L, PAD_R, PAD_T, PAD_B = 60, 20, 30, 40
COLORS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700")
Series = dict[str, list[tuple[float, float]]]


def write_report(
    path: Path,
    runs: dict[str, tuple[dict[str, Any], Metrics]],
    comparison: dict[str, Any] | None = None,
) -> None:
    """``runs``: label → (JSON summary, metrics) — the first is the main run."""
    label, (main, metrics) = next(iter(runs.items()))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>azuchi load test</title><style>",
        "body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}",
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;",
        "text-align:right}th:first-child,td:first-child{text-align:left}",
        "svg{display:block;margin:1em 0}</style></head><body>",
        f"<h1>azuchi load test</h1><p>Target {_e(main['target'])}: {main['sessions']} sessions "
        f"for {main['duration_s']:.0f} s.</p>",
        _figures(runs),
    ]
    if comparison:
        parts.append(_comparison(comparison))
    for metric, title in (
        ("ttfd_ms", "Time to first delta (putMessage sent → first delta read)"),
        ("gap_ms", "Time between deltas of one reply"),
        ("reply_ms", "Whole reply (putMessage sent → done read)"),
    ):
        series = {name: _percentile_curve(getattr(m, metric)) for name, (_, m) in runs.items()}
        parts.append(_chart(title, series, "percentile", "ms"))
    timeline = {label: list(zip(metrics.ttfd_at_s, metrics.ttfd_ms, strict=True))}
    parts.append(_chart("Time to first delta over the run", timeline, "s", "ms", scatter=True))
    problems = main.get("problems") or []
    if problems:
        items = "".join(f"<li>{_e(p)}</li>" for p in problems)
        parts.append(f"<h2>Problems</h2><ul>{items}</ul>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")


def _figures(runs: dict[str, tuple[dict[str, Any], Metrics]]) -> str:
    rows: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
        ("replies", lambda s: s["replies"]),
        ("dropped and resumed", lambda s: s["dropped"]),
        ("lost", lambda s: s["lost"]),
        ("duplicated", lambda s: s["duplicated"]),
        ("errors", lambda s: s["errors"]),
        ("ttfd p50 / p99 ms", lambda s: _pair(s["ttfd_ms"])),
        ("gap p50 / p99 ms", lambda s: _pair(s["gap_ms"])),
        ("reply p50 / p99 ms", lambda s: _pair(s["reply_ms"])),
        ("delta frames per reply (mean)", lambda s: s["frames_per_reply"]["mean"]),
        ("output tokens per reply (mean)", lambda s: s["tokens_per_reply"]["mean"]),
        ("frames per token", lambda s: s["coalescing"]["frames_per_token"]),
        ("client loop lag p99 ms", lambda s: s["client_loop_lag_ms"]["p99"]),
    ]
    head = "".join(f"<th>{_e(name)}</th>" for name in runs)
    body = "".join(
        f"<tr><td>{_e(title)}</td>"
        + "".join(f"<td>{_e(str(get(s)))}</td>" for s, _ in runs.values())
        + "</tr>"
        for title, get in rows
    )
    return f"<h2>Figures</h2><table><tr><th></th>{head}</tr>{body}</table>"


def _comparison(comparison: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{v['azuchi']}</td><td>{v['relay']}</td>"
        f"<td>{v['ratio']}</td><td>{v['added_ms']}</td></tr>"
        for k, v in comparison.items()
    )
    return (
        "<h2>azuchi against the bare relay</h2><p>Same load, same model pace and chunking. "
        "Added ms = azuchi's percentile minus the relay's.</p><table><tr><th>metric</th>"
        f"<th>azuchi</th><th>relay</th><th>ratio</th><th>added ms</th></tr>{rows}</table>"
    )


def _pair(summary: dict[str, Any]) -> str:
    return f"{summary['p50']} / {summary['p99']}"


def _percentile_curve(values: list[float], points: int = 200) -> list[tuple[float, float]]:
    if not values:
        return []
    curve = []
    for i in range(points + 1):
        q = 100 * i / points
        value = percentile(values, q)
        if value is not None:
            curve.append((q, value))
    return curve


def _chart(title: str, series: Series, x_unit: str, y_unit: str, scatter: bool = False) -> str:
    points = [p for s in series.values() for p in s]
    if not points:
        return f"<h2>{_e(title)}</h2><p>No samples.</p>"
    x_max = _nice(max(x for x, _ in points))
    y_max = _nice(max(y for _, y in points))
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def sx(x: float) -> float:
        return PAD_L + plot_w * x / x_max

    def sy(y: float) -> float:
        return PAD_T + plot_h * (1 - y / y_max)

    out = [f"<h2>{_e(title)}</h2>", f"<svg width='{WIDTH}' height='{HEIGHT}' role='img'>"]
    for i in range(6):  # grid and tick labels
        x, y = x_max * i / 5, y_max * i / 5
        out.append(
            f"<line x1='{PAD_L}' x2='{WIDTH - PAD_R}' y1='{sy(y):.1f}' y2='{sy(y):.1f}' "
            "stroke='#eee'/>"
            f"<text x='{PAD_L - 6}' y='{sy(y) + 4:.1f}' font-size='11' text-anchor='end'>"
            f"{_tick(y)}</text>"
            f"<text x='{sx(x):.1f}' y='{HEIGHT - PAD_B + 16}' font-size='11' "
            f"text-anchor='middle'>{_tick(x)}</text>"
        )
    out.append(
        f"<text x='{WIDTH / 2}' y='{HEIGHT - 6}' font-size='12' text-anchor='middle'>"
        f"{_e(x_unit)}</text><text x='14' y='{PAD_T - 10}' font-size='12'>{_e(y_unit)}</text>"
    )
    for index, (name, pts) in enumerate(series.items()):
        color = COLORS[index % len(COLORS)]
        if scatter:
            out.extend(
                f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='1.6' fill='{color}'/>"
                for x, y in pts
            )
        elif pts:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
            out.append(f"<polyline points='{path}' fill='none' stroke='{color}' stroke-width='2'/>")
        out.append(
            f"<text x='{PAD_L + 10}' y='{PAD_T + 14 + 16 * index}' font-size='12' "
            f"fill='{color}'>{_e(name)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _nice(value: float) -> float:
    """A round axis end at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _tick(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)

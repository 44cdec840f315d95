"""Line charts as inline SVG: axes with round ticks, linear or log scales, a legend.

The SVG carries its scales as ``data-*`` attributes so the page's small script can turn the
pointer position back into values for the hover read-out; without the script the chart is
complete and static.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


@dataclass(frozen=True)
class Series:
    name: str
    x: Sequence[float]
    y: Sequence[float]
    color: str = PALETTE[0]
    dash: str = ""  # SVG stroke-dasharray, e.g. "5 3"


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    x_label: str
    y_label: str
    x_unit: str = ""  # "ns", "s", "/s", "%" or "" (how tick labels are written)
    y_unit: str = ""
    x_log: bool = False
    y_log: bool = False
    series: list[Series] = field(default_factory=list)
    hlines: list[tuple[float, str]] = field(default_factory=list)
    width: int = 600
    height: int = 300


def format_value(value: float, unit: str) -> str:
    """A tick or read-out label: durations scaled to ns/µs/ms/s, rates with k/M."""
    if value != value:  # NaN
        return "–"
    if unit == "ns":
        a = abs(value)
        if a >= 1e9:
            return f"{value / 1e9:.3g} s"
        if a >= 1e6:
            return f"{value / 1e6:.3g} ms"
        if a >= 1e3:
            return f"{value / 1e3:.3g} µs"
        return f"{value:.3g} ns"
    if unit == "%":
        return f"{value:.6g}%"
    if unit == "s":
        return f"{value:.3g} s"
    a = abs(value)
    suffix = "/s" if unit == "/s" else ""
    if a >= 1e6:
        return f"{value / 1e6:.3g}M{suffix}"
    if a >= 1e3:
        return f"{value / 1e3:.3g}k{suffix}"
    return f"{value:.3g}{suffix}"


def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(1, target)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def linear_ticks(lo: float, hi: float) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    step = _nice_step(hi - lo)
    start = math.ceil(lo / step) * step
    ticks = []
    v = start
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    lo_e, hi_e = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    mults = (1, 2, 5) if hi_e - lo_e <= 3 else (1,)
    ticks = [m * 10.0**e for e in range(lo_e, hi_e + 1) for m in mults]
    return [t for t in ticks if lo <= t <= hi]


class _Scale:
    def __init__(self, lo: float, hi: float, a: float, b: float, log: bool) -> None:
        self.log = log
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
        if hi <= lo:
            hi = lo + 1.0
        self.lo, self.hi, self.a, self.b = lo, hi, a, b

    def __call__(self, v: float) -> float:
        if self.log:
            v = math.log10(v)
        return self.a + (v - self.lo) / (self.hi - self.lo) * (self.b - self.a)


def _finite(values: Sequence[float], log: bool) -> list[float]:
    return [v for v in values if v == v and math.isfinite(v) and (v > 0 or not log)]


def _range(chart: Chart, axis: str) -> tuple[float, float]:
    log = chart.x_log if axis == "x" else chart.y_log
    vals: list[float] = []
    for s in chart.series:
        vals += _finite(s.x if axis == "x" else s.y, log)
    if axis == "y":
        vals += [v for v, _ in chart.hlines if v == v and (v > 0 or not log)]
    if not vals:
        return (1.0, 10.0) if log else (0.0, 1.0)
    lo, hi = min(vals), max(vals)
    if log:
        if hi <= lo:
            lo, hi = lo / 2, hi * 2
        return lo / 1.15, hi * 1.15
    if axis == "y" and lo >= 0:
        lo = 0.0
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    return lo, hi + (hi - lo) * 0.05


def _path(s: Series, sx: _Scale, sy: _Scale, x_log: bool, y_log: bool) -> str:
    parts: list[str] = []
    pen_down = False
    for x, y in zip(s.x, s.y):
        ok = x == x and y == y and (x > 0 or not x_log) and (y > 0 or not y_log)
        if not ok:
            pen_down = False  # a gap (an empty time bin)
            continue
        parts.append(f"{'L' if pen_down else 'M'}{sx(x):.1f} {sy(y):.1f}")
        pen_down = True
    return " ".join(parts)


def render(chart: Chart) -> str:
    """The chart as one ``<svg class="plot">`` element."""
    w, h = chart.width, chart.height
    left, right, top, bottom = 70, 16, 30, 46
    x0, x1, y0, y1 = left, w - right, h - bottom, top
    xlo, xhi = _range(chart, "x")
    ylo, yhi = _range(chart, "y")
    sx = _Scale(xlo, xhi, x0, x1, chart.x_log)
    sy = _Scale(ylo, yhi, y0, y1, chart.y_log)
    esc = html.escape
    out = [
        f'<svg class="plot" id="{esc(chart.chart_id)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="{esc(chart.title)}" data-x0="{x0}" data-x1="{x1}" data-y0="{y0}" '
        f'data-y1="{y1}" data-xlo="{sx.lo!r}" data-xhi="{sx.hi!r}" data-ylo="{sy.lo!r}" '
        f'data-yhi="{sy.hi!r}" data-xlog="{int(chart.x_log)}" data-ylog="{int(chart.y_log)}" '
        f'data-xunit="{esc(chart.x_unit)}" data-yunit="{esc(chart.y_unit)}">',
        f'<text class="title" x="{w / 2:.0f}" y="18" text-anchor="middle">'
        f"{esc(chart.title)}</text>",
        f'<rect class="frame" x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}"/>',
    ]
    xt = log_ticks(xlo, xhi) if chart.x_log else linear_ticks(xlo, xhi)
    yt = log_ticks(ylo, yhi) if chart.y_log else linear_ticks(ylo, yhi)
    for t in xt:
        px = sx(t)
        out.append(f'<line class="grid" x1="{px:.1f}" y1="{y1}" x2="{px:.1f}" y2="{y0}"/>')
        out.append(
            f'<text class="tick" x="{px:.1f}" y="{y0 + 15}" text-anchor="middle">'
            f"{esc(format_value(t, chart.x_unit))}</text>"
        )
    for t in yt:
        py = sy(t)
        out.append(f'<line class="grid" x1="{x0}" y1="{py:.1f}" x2="{x1}" y2="{py:.1f}"/>')
        out.append(
            f'<text class="tick" x="{x0 - 6}" y="{py + 4:.1f}" text-anchor="end">'
            f"{esc(format_value(t, chart.y_unit))}</text>"
        )
    out.append(
        f'<text class="axis" x="{(x0 + x1) / 2:.0f}" y="{h - 8}" text-anchor="middle">'
        f"{esc(chart.x_label)}</text>"
    )
    out.append(
        f'<text class="axis" x="14" y="{(y0 + y1) / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(y0 + y1) / 2:.0f})">{esc(chart.y_label)}</text>'
    )
    for value, label in chart.hlines:
        if value != value or (chart.y_log and value <= 0):
            continue
        py = sy(value)
        out.append(f'<line class="ref" x1="{x0}" y1="{py:.1f}" x2="{x1}" y2="{py:.1f}"/>')
        out.append(
            f'<text class="reflabel" x="{x1 - 4}" y="{py - 4:.1f}" text-anchor="end">'
            f"{esc(label)}</text>"
        )
    for s in chart.series:
        d = _path(s, sx, sy, chart.x_log, chart.y_log)
        if not d:
            continue
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        out.append(
            f'<path class="series" d="{d}" stroke="{s.color}"{dash} '
            f'data-name="{esc(s.name)}"><title>{esc(s.name)}</title></path>'
        )
    ly = y1 + 6
    if chart.series:  # a light box so the legend stays readable over the lines
        longest = max(len(s.name) for s in chart.series)
        out.append(
            f'<rect class="legendbox" x="{x0 + 4}" y="{ly - 2}" width="{36 + 6.2 * longest:.0f}" '
            f'height="{15 * len(chart.series) + 4}"/>'
        )
    for s in chart.series:
        out.append(
            f'<line x1="{x0 + 8}" y1="{ly + 5}" x2="{x0 + 30}" y2="{ly + 5}" stroke="{s.color}" '
            f'stroke-width="2"{f" stroke-dasharray={chr(34)}{s.dash}{chr(34)}" if s.dash else ""}/>'
        )
        out.append(f'<text class="legend" x="{x0 + 34}" y="{ly + 9}">{esc(s.name)}</text>')
        ly += 15
    out.append('<g class="hover"></g></svg>')
    return "\n".join(out)


__all__ = ["PALETTE", "Chart", "Series", "format_value", "linear_ticks", "log_ticks", "render"]

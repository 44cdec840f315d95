"""The sweep's plot: throughput against intra-op threads per pool, as a standalone SVG file.

One line per (inter-op pools, batch size), each point the median of its repeats with a bar for
its range; dashed horizontal lines mark the framework default and the Intel-style rule. Written
by hand (no plotting library is a dependency); any browser opens it.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict

from mlpace.workloads.tuning import SweepResult
from mlpace.workloads.tuning_grid import FRAMEWORK_DEFAULT, INTEL_STYLE

__all__ = ["sweep_svg"]

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
W, H = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 70, 190, 40, 50


def sweep_svg(sweep: SweepResult) -> str:
    """The SVG document (text)."""
    groups: dict[tuple[int, int], list[tuple[int, float, float, float]]] = defaultdict(list)
    for r in sweep.measured:
        p = r.point
        if p.intra is None or r.median is None or r.low is None or r.high is None:
            continue
        groups[(p.pools or 1, p.batch)].append((p.intra, r.median, r.low, r.high))
    refs = []
    for label in (FRAMEWORK_DEFAULT, INTEL_STYLE):
        ref = sweep.reference(label)
        if ref is not None and ref.median is not None:
            refs.append((label, ref.median))
    xs = [x for pts in groups.values() for x, *_ in pts] or [1]
    ys = [y for pts in groups.values() for *_, y in pts] + [v for _, v in refs] or [1.0]
    x_max = max(xs)
    step = _nice_step(max(ys) * 1.05 / 5 or 1.0)
    y_max = step * math.ceil(max(ys) * 1.05 / step) or 1.0

    def sx(x: float) -> float:
        return LEFT + (x - 1) / max(1, x_max - 1) * (W - LEFT - RIGHT) if x_max > 1 else LEFT + 20

    def sy(y: float) -> float:
        return H - BOTTOM - y / y_max * (H - TOP - BOTTOM)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{LEFT}" y="20" font-size="13">{html.escape(_title(sweep))}</text>',
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="black"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="black"/>',
    ]
    for x in sorted(set(xs)):
        out.append(f'<text x="{sx(x):.1f}" y="{H - BOTTOM + 15}" text-anchor="middle">{x}</text>')
    for i in range(round(y_max / step) + 1):
        v = step * i
        out.append(
            f'<text x="{LEFT - 5}" y="{sy(v) + 4:.1f}" text-anchor="end">{v:,.0f}</text>'
            f'<line x1="{LEFT}" y1="{sy(v):.1f}" x2="{W - RIGHT}" y2="{sy(v):.1f}" '
            'stroke="#ddd"/>'
        )
    out.append(
        f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 12}" text-anchor="middle">'
        "intra-op threads per pool (workers fill the rest of the cores)</text>"
        f'<text x="15" y="{(TOP + H - BOTTOM) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 15 {(TOP + H - BOTTOM) / 2})">'
        f"{html.escape(sweep.metric)} (median, range)</text>"
    )
    legend_y = TOP
    for n, ((pools, batch), pts) in enumerate(sorted(groups.items())):
        color = COLORS[n % len(COLORS)]
        pts.sort()
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{sx(x):.1f} {sy(y):.1f}" for i, (x, y, _, _) in enumerate(pts)
        )
        out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y, lo, hi in pts:
            out.append(
                f'<line x1="{sx(x):.1f}" y1="{sy(lo):.1f}" x2="{sx(x):.1f}" y2="{sy(hi):.1f}" '
                f'stroke="{color}"/><circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" '
                f'fill="{color}"/>'
            )
        out.append(_legend(legend_y, color, f"pools {pools}, batch {batch}", ""))
        legend_y += 16
    for n, (label, value) in enumerate(refs):
        color = "#555" if n == 0 else "#aaa"
        out.append(
            f'<line x1="{LEFT}" y1="{sy(value):.1f}" x2="{W - RIGHT}" y2="{sy(value):.1f}" '
            f'stroke="{color}" stroke-dasharray="5 3"/>'
        )
        out.append(_legend(legend_y, color, label, "5 3"))
        legend_y += 16
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def _legend(y: float, color: str, text: str, dash: str) -> str:
    x = W - RIGHT + 10
    return (
        f'<line x1="{x}" y1="{y}" x2="{x + 20}" y2="{y}" stroke="{color}" stroke-width="2" '
        f'stroke-dasharray="{dash}"/><text x="{x + 25}" y="{y + 4}">{html.escape(text)}</text>'
    )


def _title(sweep: SweepResult) -> str:
    return (
        f"{sweep.task} on {sweep.backend}, {sweep.scenario}: {sweep.metric} against threads "
        f"({sweep.topology.physical_cores} physical cores)"
    )

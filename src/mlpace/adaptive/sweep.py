"""Parameter sweeps: the alpha/beta grid and the dense-overlay fraction, as CSV and an SVG plot."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mlpace.adaptive.spmv import VARIANTS, SpmvConfig, make_phases, run_variant


@dataclass(frozen=True)
class SweepRow:
    kind: str  # "thresholds" (alpha/beta grid at the configured overlay) or "overlay"
    variant: str
    overlay: float
    alpha: float
    beta: float
    time_ns: int
    bytes_moved: int
    switches: int
    validated: bool


@dataclass
class SweepResult:
    config: SpmvConfig
    rows: list[SweepRow]

    @property
    def validated(self) -> bool:
        return all(r.validated for r in self.rows)


def run_sweep(
    cfg: SpmvConfig,
    *,
    alphas: Sequence[float],
    betas: Sequence[float],
    overlays: Sequence[float],
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    rows: list[SweepRow] = []
    say = progress or (lambda _line: None)

    def record(kind: str, c: SpmvConfig, variant: str, phases: list) -> None:  # type: ignore[type-arg]
        r = run_variant(variant, c, phases)
        rows.append(
            SweepRow(
                kind,
                variant,
                c.overlay,
                c.alpha,
                c.beta,
                r.time_ns,
                r.bytes_moved,
                r.switches,
                r.validated,
            )
        )
        say(
            f"{kind} {variant} overlay={c.overlay:g} alpha={c.alpha:g} beta={c.beta:g}: "
            f"{r.time_ns / 1e6:.2f} ms, {r.switches} switches"
        )

    phases = make_phases(cfg)
    for v in VARIANTS[:-1]:
        record("thresholds", cfg, v, phases)
    for a in alphas:
        for b in betas:
            if b > a:
                record("thresholds", dataclasses.replace(cfg, alpha=a, beta=b), "adaptive", phases)
    for f in overlays:
        c = dataclasses.replace(cfg, overlay=f)
        phases = make_phases(c)
        for v in VARIANTS:
            record("overlay", c, v, phases)
    return SweepResult(cfg, rows)


def sweep_csv(result: SweepResult) -> str:
    head = "kind,variant,overlay,alpha,beta,time_ms,bytes_moved,switches,validated"
    body = [
        f"{r.kind},{r.variant},{r.overlay:g},{r.alpha:g},{r.beta:g},{r.time_ns / 1e6:.4f},"
        f"{r.bytes_moved},{r.switches},{r.validated}"
        for r in result.rows
    ]
    return "\n".join([head, *body]) + "\n"


_COLORS = {"dense": "#d62728", "sparse": "#1f77b4", "static": "#2ca02c", "adaptive": "#9467bd"}


def sweep_svg(result: SweepResult) -> str:
    """Left: adaptive time over the alpha x beta grid, relative to the best baseline (a heat
    map). Right: time of each variant against the dense-overlay fraction."""
    w, h = 900, 380
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        'font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    parts += _heatmap(result, 50, 40, 360, 280)
    parts += _lines(result, 520, 40, 340, 280)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _heatmap(result: SweepResult, x0: int, y0: int, w: int, h: int) -> list[str]:
    grid = [r for r in result.rows if r.kind == "thresholds"]
    base = [r.time_ns for r in grid if r.variant != "adaptive"]
    best = min(base) if base else 1
    cells = [r for r in grid if r.variant == "adaptive"]
    alphas = sorted({r.alpha for r in cells})
    betas = sorted({r.beta for r in cells})
    out = [
        f'<text x="{x0}" y="{y0 - 18}" font-size="13">adaptive time / best baseline '
        f"(overlay {result.config.overlay:g}); switches in brackets</text>"
    ]
    if not cells:
        return out
    cw, ch = w / len(betas), h / len(alphas)
    for r in cells:
        i, j = alphas.index(r.alpha), betas.index(r.beta)
        rel = r.time_ns / best
        # green below 1 (adaptive beats every baseline), red above; full colour at +-30 %
        strength = min(1.0, abs(rel - 1.0) / 0.3)
        fade = int(255 - 140 * strength)
        color = f"rgb({fade},255,{fade})" if rel < 1 else f"rgb(255,{fade},{fade})"
        x, y = x0 + j * cw, y0 + i * ch
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{cw:.1f}" height="{ch:.1f}" '
            f'fill="{color}" stroke="white"/>'
        )
        out.append(
            f'<text x="{x + cw / 2:.1f}" y="{y + ch / 2 + 4:.1f}" text-anchor="middle">'
            f"{rel:.2f} [{r.switches}]</text>"
        )
    for j, b in enumerate(betas):
        out.append(
            f'<text x="{x0 + (j + 0.5) * cw:.1f}" y="{y0 + h + 14}" '
            f'text-anchor="middle">{b:g}</text>'
        )
    for i, a in enumerate(alphas):
        out.append(
            f'<text x="{x0 - 4}" y="{y0 + (i + 0.5) * ch + 4:.1f}" text-anchor="end">{a:g}</text>'
        )
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 30}" text-anchor="middle">beta</text>')
    out.append(
        f'<text x="{x0 - 36}" y="{y0 + h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 {x0 - 36} {y0 + h / 2})">alpha</text>'
    )
    return out


def _lines(result: SweepResult, x0: int, y0: int, w: int, h: int) -> list[str]:
    rows = [r for r in result.rows if r.kind == "overlay"]
    out = [
        f'<text x="{x0}" y="{y0 - 18}" font-size="13">time (ms) against dense-overlay '
        "fraction</text>",
        f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#9aa3b2"/>',
    ]
    if not rows:
        return out
    xs = sorted({r.overlay for r in rows})
    top = max(r.time_ns for r in rows) / 1e6 * 1.05 or 1.0
    span = (xs[-1] - xs[0]) or 1.0

    def px(f: float) -> float:
        return x0 + (f - xs[0]) / span * w

    def py(ms: float) -> float:
        return y0 + h - ms / top * h

    for k in range(5):
        ms = top * k / 4
        out.append(f'<text x="{x0 - 4}" y="{py(ms) + 4:.1f}" text-anchor="end">{ms:.1f}</text>')
    for f in xs:
        out.append(f'<text x="{px(f):.1f}" y="{y0 + h + 14}" text-anchor="middle">{f:g}</text>')
    for n, v in enumerate(VARIANTS):
        pts = sorted((r.overlay, r.time_ns / 1e6) for r in rows if r.variant == v)
        if not pts:
            continue
        path = " ".join(f"{px(f):.1f},{py(ms):.1f}" for f, ms in pts)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{_COLORS[v]}" stroke-width="2"/>'
        )
        out.append(
            f'<text x="{x0 + 8}" y="{y0 + 14 + 14 * n}" fill="{_COLORS[v]}">{html.escape(v)}</text>'
        )
    return out

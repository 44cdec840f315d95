"""The strong-scaling experiment: one problem size, more ranks, several models.

As in the dissertation's figures, performance is shown absolute and normalized: the rate at P
ranks divided by P and by the baseline's rate at its smallest rank count (the MPI model when it
is among the models, else the first one), so perfect scaling reads 1.0 and flat lines are good.
Each point is the best of `reps` runs (the dissertation reports the maximum over many runs);
every run must validate.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlpace.kernels.spec import KernelParams
from mlpace.kernels.timing import RunResult

__all__ = ["ScalePoint", "ScaleTable", "run_scaling", "svg_plot"]

Runner = Callable[[KernelParams, str, int], RunResult]


@dataclass(frozen=True)
class ScalePoint:
    model: str
    ranks: int
    best: RunResult
    runs: tuple[RunResult, ...]

    @property
    def validated(self) -> bool:
        return all(r.verdict.valid for r in self.runs)


@dataclass(frozen=True)
class ScaleTable:
    params: KernelParams
    points: tuple[ScalePoint, ...]
    baseline: tuple[str, int]
    skipped: tuple[str, ...]

    @property
    def unit(self) -> str:
        return self.points[0].best.unit if self.points else ""

    def _base_rate(self) -> float:
        for pt in self.points:
            if (pt.model, pt.ranks) == self.baseline:
                return pt.best.rate
        return float("nan")

    def normalized(self, pt: ScalePoint) -> float:
        """Rate / (ranks / baseline ranks) / baseline rate: 1.0 is perfect strong scaling."""
        return pt.best.rate / (pt.ranks / self.baseline[1]) / self._base_rate()

    def speedup(self, pt: ScalePoint) -> float:
        """Rate over the same model's rate at its smallest rank count."""
        own = [q for q in self.points if q.model == pt.model]
        first = min(own, key=lambda q: q.ranks)
        return pt.best.rate / first.best.rate

    @property
    def all_valid(self) -> bool:
        return all(pt.validated for pt in self.points)

    def rows(self) -> list[dict[str, object]]:
        return [
            {
                "kernel": self.params.kernel,
                "model": pt.model,
                "variant": pt.best.variant,
                "ranks": pt.ranks,
                "rate": pt.best.rate,
                "unit": pt.best.unit,
                "avg_time_s": pt.best.avg_time,
                "speedup": self.speedup(pt),
                "normalized": self.normalized(pt),
                "validated": pt.validated,
                "reps": len(pt.runs),
            }
            for pt in self.points
        ]

    def markdown(self) -> str:
        base = f"{self.baseline[0]} at {self.baseline[1]} rank(s)"
        head = (
            f"| model | ranks | rate ({self.unit}) | avg time (s) | speedup | "
            f"normalized to {base} | validated |"
        )
        lines = [head, "|---|---:|---:|---:|---:|---:|---|"]
        for row in self.rows():
            lines.append(
                f"| {row['model']} | {row['ranks']} | {row['rate']:.1f} | "
                f"{row['avg_time_s']:.6f} | {row['speedup']:.2f} | {row['normalized']:.2f} | "
                f"{'yes' if row['validated'] else 'NO'} |"
            )
        return "\n".join(lines)

    def csv(self) -> str:
        buf = io.StringIO()
        rows = self.rows()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["kernel"])
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()

    def write(self, out_dir: Path) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = out_dir / f"scale-{self.params.kernel}"
        files = {
            stem.with_suffix(".md"): self.markdown() + "\n",
            stem.with_suffix(".csv"): self.csv(),
            stem.with_suffix(".svg"): svg_plot(self),
            stem.with_suffix(".jsonl"): "".join(
                r.to_json() + "\n" for pt in self.points for r in pt.runs
            ),
        }
        for path, text in files.items():
            path.write_text(text)
        return list(files)


def run_scaling(
    params: KernelParams,
    models: Sequence[str],
    ranks: Sequence[int],
    runner: Runner,
    reps: int = 1,
    on_result: Callable[[RunResult], None] | None = None,
) -> ScaleTable:
    """Run every model at every rank count (numpy only at one rank) and build the table."""
    points: list[ScalePoint] = []
    skipped: list[str] = []
    for model in models:
        for n in sorted(set(ranks)):
            if model == "numpy" and n != 1:
                skipped.append(f"numpy at {n} ranks (the numpy model is serial)")
                continue
            runs = []
            for _ in range(reps):
                result = runner(params, model, n)
                runs.append(result)
                if on_result is not None:
                    on_result(result)
            best = max(runs, key=lambda r: r.rate)
            points.append(ScalePoint(model, n, best, tuple(runs)))
    base_model = "mpi" if "mpi" in models else models[0]
    base_ranks = min(pt.ranks for pt in points if pt.model == base_model)
    return ScaleTable(params, tuple(points), (base_model, base_ranks), tuple(skipped))


_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def svg_plot(table: ScaleTable, width: int = 640, height: int = 400) -> str:
    """A small self-contained SVG: normalized performance against ranks, one line per model."""
    pad_l, pad_r, pad_t, pad_b = 60, 150, 30, 50
    ranks = sorted({pt.ranks for pt in table.points}) or [1]
    values = [table.normalized(pt) for pt in table.points] or [1.0]
    y_max = max(1.2, max(v for v in values if v == v) * 1.1)
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b

    def x_of(n: int) -> float:
        i = ranks.index(n)
        return pad_l + (plot_w * i / (len(ranks) - 1) if len(ranks) > 1 else plot_w / 2)

    def y_of(v: float) -> float:
        return pad_t + plot_h * (1 - v / y_max)

    title = f"Strong scaling: {table.params.kernel} ({json.dumps(table.params.to_dict())})"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="{pad_l}" y="18">{_esc(title)}</text>',
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{pad_l + plot_w}" '
        f'y2="{pad_t + plot_h}" stroke="black"/>',
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + plot_h}" stroke="black"/>',
        f'<text x="{pad_l + plot_w / 2}" y="{height - 10}" text-anchor="middle">ranks</text>',
        f'<text x="14" y="{pad_t + plot_h / 2}" transform="rotate(-90 14 {pad_t + plot_h / 2})" '
        'text-anchor="middle">normalized performance</text>',
    ]
    for n in ranks:
        parts.append(
            f'<text x="{x_of(n):.1f}" y="{pad_t + plot_h + 18}" text-anchor="middle">{n}</text>'
        )
    for k in range(5):
        v = y_max * k / 4
        parts.append(
            f'<text x="{pad_l - 6}" y="{y_of(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>'
        )
    parts.append(
        f'<line x1="{pad_l}" y1="{y_of(1.0):.1f}" x2="{pad_l + plot_w}" y2="{y_of(1.0):.1f}" '
        'stroke="#999" stroke-dasharray="4 3"/>'
    )
    models = list(dict.fromkeys(pt.model for pt in table.points))
    for i, model in enumerate(models):
        colour = _COLOURS[i % len(_COLOURS)]
        pts = sorted((pt for pt in table.points if pt.model == model), key=lambda q: q.ranks)
        coords = " ".join(f"{x_of(pt.ranks):.1f},{y_of(table.normalized(pt)):.1f}" for pt in pts)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        for pt in pts:
            parts.append(
                f'<circle cx="{x_of(pt.ranks):.1f}" cy="{y_of(table.normalized(pt)):.1f}" '
                f'r="3" fill="{colour}"/>'
            )
        ly = pad_t + 16 * i + 10
        parts.append(
            f'<text x="{pad_l + plot_w + 12}" y="{ly}" fill="{colour}">{_esc(model)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

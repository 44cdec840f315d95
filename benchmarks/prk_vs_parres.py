"""mlpace's PRK kernels against the ParRes/Kernels PYTHON/ versions, side by side.

    python benchmarks/prk_vs_parres.py --parres /path/to/ParRes/Kernels [--reps 5] [--out FILE]

Both sides run as fresh subprocesses on the same sizes, alternating, `reps` times; the table
shows medians (and best). ParRes scripts run unmodified except that their timer is swapped to the
wall clock (`time.process_time` is rebound to `time.perf_counter` before the script runs), so both
sides use a wall-clock timer; note they still time their warm-up iteration. The memory bandwidth
is that of the PRK's own C nstream (SERIAL/Nstream, built with gcc -O3 into a temporary folder
outside the project) and, for comparison, of a large NumPy copy. MPI strong scaling runs
`mlpace kernels run K --model mpi --ranks 1|2`. The load average is recorded before and after.
Nothing of ParRes is copied into this project: it is read from --parres at run time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mlpace.kernels.output import parse_prk

# kernel -> (ParRes script, its positional args, mlpace flags for the same problem)
CASES: dict[str, tuple[str, list[str], list[str]]] = {
    "stencil": ("stencil-numpy.py", ["10", "1000"], ["--order", "1000", "--radius", "2"]),
    "transpose": ("transpose-numpy.py", ["10", "1000"], ["--order", "1000"]),
    "p2p": ("p2p-numpy.py", ["10", "200", "200"], ["--m", "200", "--n", "200"]),
    "nstream": ("nstream-numpy.py", ["10", "2000000"], ["--length", "2000000"]),
    "dgemm": ("dgemm-numpy.py", ["10", "500"], ["--order", "500"]),
    "sparse": ("sparse-numpy.py", ["10", "6", "2"], ["--lsize", "6", "--radius", "2"]),
}
WALL_CLOCK_SHIM = (
    "import sys, time, runpy; time.process_time = time.perf_counter; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def _rate(cmd: list[str], env: dict[str, str] | None = None) -> float:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    rates = parse_prk(proc.stdout)
    if proc.returncode != 0 or "Solution validates" not in proc.stdout or not rates:
        if "dgemm" in " ".join(cmd) and "Rate:" in proc.stdout:  # ParRes dgemm-numpy's own format
            return float(proc.stdout.split("Rate:")[1].split()[0])
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-800:]}\n{proc.stderr[-800:]}")
    return rates[-1].rate


def _mlpace(kernel: str, flags: list[str], model: str = "numpy", ranks: int = 1) -> list[str]:
    base = [sys.executable, "-m", "mlpace.cli.main", "kernels", "run", kernel, "--model", model]
    return [*base, "--ranks", str(ranks), "--iterations", "10", *flags]


def c_nstream_bandwidth(parres: Path, length: int = 20_000_000) -> float | None:
    """MB/s of the PRK's C nstream (best of 3), built outside the project; None without gcc."""
    gcc = shutil.which("gcc")
    src = parres / "SERIAL" / "Nstream" / "nstream.c"
    if gcc is None or not src.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="prk-c-") as tmp:
        exe = Path(tmp) / "nstream"
        inc = parres / "include"
        cmd = [
            gcc,
            "-O3",
            "-march=native",
            f"-I{inc}",
            '-DPRKVERSION="2020"',
            "-DMAXLENGTH=40000000",
        ]
        cmd += [str(src), str(parres / "common" / "wtime.c"), "-o", str(exe), "-lm"]
        build = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if build.returncode != 0:
            print(f"note: could not build C nstream: {build.stderr[-300:]}", file=sys.stderr)
            return None
        return max(_rate([str(exe), "10", str(length), "0"]) for _ in range(3))


def numpy_copy_bandwidth(n: int = 20_000_000, reps: int = 7) -> float:
    """MB/s of np.copyto over arrays far larger than the caches, counting read + write bytes."""
    src = np.ones(n)
    dst = np.empty(n)
    best = 0.0
    for _ in range(reps):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = max(best, 2 * 8 * n / (time.perf_counter() - t) / 1e6)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--parres", type=Path, default=Path(os.environ.get("PRK_DIR", "../Kernels")))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--kernels", default=",".join(CASES))
    ap.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = ap.parse_args()
    pydir = args.parres / "PYTHON"
    if not pydir.is_dir():
        print(f"error: no PYTHON/ folder under --parres {args.parres}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    lines = [
        f"Machine: {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; NumPy {np.__version__}; "
        f"load average before {load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f}",
        "",
        "| kernel | unit | ParRes NumPy median (best) | mlpace numpy median (best) "
        "| ratio of medians |",
        "|---|---|---:|---:|---:|",
    ]
    medians: dict[str, float] = {}
    for kernel in args.kernels.split(","):
        script, pargs, flags = CASES[kernel]
        theirs, ours = [], []
        for _ in range(args.reps):  # alternate, so load drifts hit both sides alike
            theirs.append(
                _rate([sys.executable, "-c", WALL_CLOCK_SHIM, str(pydir / script), *pargs])
            )
            ours.append(_rate(_mlpace(kernel, flags)))
        mt, mo = statistics.median(theirs), statistics.median(ours)
        medians[kernel] = mo
        unit = "MB/s" if kernel in ("transpose", "nstream") else "MFlops/s"
        lines.append(
            f"| {kernel} `{' '.join(pargs)}` | {unit} | {mt:.1f} ({max(theirs):.1f}) | "
            f"{mo:.1f} ({max(ours):.1f}) | {mo / mt:.2f}x |"
        )
        print(lines[-1], flush=True)
    c_bw = c_nstream_bandwidth(args.parres)
    np_bw = numpy_copy_bandwidth()
    bw = max(v for v in (c_bw, np_bw) if v is not None)
    lines += [
        "",
        f"Memory bandwidth: PRK C nstream (gcc -O3, 2e7 doubles, best of 3) = "
        f"{c_bw:.0f} MB/s; NumPy copy of 2e7 doubles (read+write, best of 7) = {np_bw:.0f} MB/s"
        if c_bw
        else f"Memory bandwidth: NumPy copy of 2e7 doubles = {np_bw:.0f} MB/s (no C nstream)",
    ]
    for k in ("nstream", "transpose"):
        if k in medians:
            lines.append(
                f"- {k} at the default size: mlpace numpy median {medians[k]:.0f} MB/s = "
                f"{medians[k] / bw:.0%} of {bw:.0f} MB/s (partly cache-resident: L3 effects)"
            )
    # the same kernels on arrays far larger than the caches, like the bandwidth runs
    big_cases = (
        ("nstream", ["--length", "20000000"]),
        ("transpose", ["--order", "4000"]),
        ("transpose", ["--order", "4000", "--tile", "64"]),
    )
    for k, flags in big_cases:
        big = statistics.median(_rate(_mlpace(k, flags)) for _ in range(args.reps))
        lines.append(
            f"- {k} `{' '.join(flags)}` (out of cache): mlpace numpy median {big:.0f} MB/s = "
            f"{big / bw:.0%} of {bw:.0f} MB/s"
        )
        print(lines[-1], flush=True)
    lines += ["", "| MPI kernel | 1 rank median | 2 ranks median | 2 / 1 |", "|---|---:|---:|---:|"]
    for kernel in ("transpose", "stencil"):
        one, two = [], []
        flags = CASES[kernel][2]
        for _ in range(args.reps):
            one.append(_rate(_mlpace(kernel, flags, "mpi", 1)))
            two.append(_rate(_mlpace(kernel, flags, "mpi", 2)))
        m1, m2 = statistics.median(one), statistics.median(two)
        lines.append(f"| {kernel} | {m1:.1f} | {m2:.1f} | {m2 / m1:.2f}x |")
        print(lines[-1], flush=True)
    after = os.getloadavg()
    lines.append(f"\nLoad average after: {after[0]:.2f} / {after[1]:.2f} / {after[2]:.2f}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

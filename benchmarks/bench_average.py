"""``xpcs_core.average`` of 100 result files of 512 x 512 pixels: time and peak memory vs file count.

Synthetic repeats (``xpcs_core.io.synthetic``, defaults: 512 x 512 detector, 12 dynamic
bins, 10 000 frames, 4 time segments; each file its own noise seed; every tenth has a
wrong baseline and is rejected). For N = 10, 25, 50, 100 files a fresh process runs
``average(files[:N], out)`` and reports the wall time, the peak of NumPy/Python
allocations (tracemalloc, in a second run for the smallest and largest N: tracing slows
the run) and the peak resident memory (ru_maxrss) above the process after its imports. Bounded memory means the peaks do not grow with N beyond the
concatenated I(t) the output holds (float32, 8 bytes per frame: 0.08 MB per file here).
Usage: ``python benchmarks/bench_average.py [--files 100] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "average-cpu.txt"

CHILD = """
import json, resource, sys, time, tracemalloc
import xpcs_core as xc
import xpcs_core.averaging, xpcs_core.io.result, xpcs_core.io.writer
trace, out, *files = sys.argv[1:]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if trace == "1":
    tracemalloc.start()
t = time.perf_counter()
report = xc.average(files, out)
wall = time.perf_counter() - t
peak = tracemalloc.get_traced_memory()[1] if trace == "1" else None
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall": wall, "traced_peak": peak, "rss_base_kib": base, "rss_peak_kib": rss,
                  "used": len(report.used), "rejected": len(report.rejected)}))
"""


def make_files(root: Path, n: int) -> list[str]:
    import numpy as np

    import xpcs_core as xc
    from xpcs_core.io.synthetic import make_synthetic

    data = make_synthetic()
    g2, err, saxs = data.multitau.g2.copy(), data.multitau.g2_err, data.saxs_2d.copy()
    rng = np.random.default_rng(0)
    paths = []
    for k in range(n):  # fresh noise per file; every tenth file with a baseline 0.2 too high
        data.multitau.g2 = g2 + rng.normal(size=g2.shape) * err + (0.2 if k % 10 == 9 else 0.0)
        data.saxs_2d = saxs * (1 + 0.01 * rng.normal())
        path = root / f"rep{k:03d}.h5"
        xc.write_result(path, data)
        paths.append(str(path))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="xpcs-bench-average-"))
    try:
        t = time.perf_counter()
        paths = make_files(root, args.files)
        size = sum(os.path.getsize(p) for p in paths) / 1e6
        print(f"wrote {len(paths)} files ({size:.0f} MB) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        counts = sorted({n for n in (10, 25, 50, args.files) if n <= args.files})
        def child(n: int, trace: bool) -> dict:
            res = subprocess.run([sys.executable, "-c", CHILD, "1" if trace else "0", str(root / f"avg{n}.h5"),
                                  *paths[:n]], capture_output=True, text=True, check=True)
            return json.loads(res.stdout.strip().splitlines()[-1])

        rows = []
        for n in counts:
            rows.append((n, child(n, False)))
            if n in (counts[0], counts[-1]):
                rows[-1][1]["traced_peak"] = child(n, True)["traced_peak"]
            print(f"N = {n}: {rows[-1][1]['wall']:.2f} s", file=sys.stderr)
        load = os.getloadavg()
        lines = [
            f"# bench_average: N synthetic result files of 512 x 512 (12 bins, 10 000 frames, "
            f"{size / len(paths):.1f} MB each), every tenth rejected (baseline)",
            f"# {platform.platform()}, python {platform.python_version()}, {os.cpu_count()} CPUs; "
            f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (machine shared with other jobs)",
            "",
            f"  {'N':>4s} {'time [s]':>9s} {'per file [ms]':>14s} {'traced peak [MB]':>17s} "
            f"{'RSS above imports [MB]':>23s} {'used/rejected':>14s}",
        ]
        for n, r in rows:
            rss = (r["rss_peak_kib"] - r["rss_base_kib"]) / 1024
            traced = "-" if r["traced_peak"] is None else f"{r['traced_peak'] / 1e6:.1f}"
            lines.append(f"  {n:4d} {r['wall']:9.2f} {1e3 * r['wall'] / n:14.1f} {traced:>17s} "
                         f"{rss:23.1f} {r['used']:>7d}/{r['rejected']}")
        first, last = rows[0][1], rows[-1][1]
        growth = (last["rss_peak_kib"] - last["rss_base_kib"]) / max(first["rss_peak_kib"] - first["rss_base_kib"], 1)
        itime_mb = [8 * 10_000 * r["used"] / 1e6 for _, r in (rows[0], rows[-1])]
        lines += ["", f"N = {rows[-1][0]} vs N = {rows[0][0]}: traced peak "
                      f"{last['traced_peak'] / first['traced_peak']:.2f}x, RSS above imports {growth:.2f}x; "
                      f"the output's concatenated I(t) alone is {itime_mb[1]:.1f} vs {itime_mb[0]:.1f} MB",
                  "(per-file arrays are not kept: the growth is the I(t) the output holds, and its copy while "
                  "HDF5 writes it)"]
        text = "\n".join(lines)
        print(text)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""``xpcs batch`` of 8 simulated raw stacks: 1 vs 2 Dask workers, and the Dask path's per-file overhead.

Eight raw stacks of 128 x 128 pixels x 4000 frames (Brownian speckle from
``xpcs_core.correlation.rawsim``; one simulation, written under 8 names), one q-map.

(a) direct: a fresh Python process calls ``xpcs_core.correlate`` on the 8 files in a loop
    (its imports and kernel loading included, as for a user's script), with one kernel
    thread (``NUMBA_NUM_THREADS=1``, what a one-thread Dask worker gets) and with all cores;
(b) ``xpcs_core.batch`` on a LocalCluster of 1 worker, then of 2 workers (processes,
    one thread each): wall time from the cluster being up to the last row (the
    workers' imports included), the cluster start-up separately. The numba kernels'
    on-disk cache is warmed first.

Per-file overhead: the marginal cost of a file, (8 files - 1 file) / 7, of the batch with
1 worker against the direct loop with 1 thread, in CPU time of the whole process tree
(robust to a shared machine) and wall time (target < 10 %); the fixed cost (cluster
start-up and shutdown, the workers' imports) separately. Speed-up: 1 worker / 2 workers
on 8 files (target >= 1.7 on 2 cores). Medians of ``--repeats`` runs.
Usage: ``python benchmarks/bench_batch.py [--repeats 3] [--frames 4000] [--out FILE]``.
The machine may be shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import json
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "batch-cpu.txt"
N_FILES = 8

DIRECT = """
import sys, time
t0 = time.perf_counter()
import xpcs_core as xc
qmap, out, *raws = sys.argv[1:]
for k, raw in enumerate(raws):
    xc.correlate(raw, qmap, f"{out}/direct{k}.h5", backend="numpy")
print(time.perf_counter() - t0)
"""


def make_inputs(root: Path, frames: int) -> tuple[list[str], str]:
    from xpcs_core.correlation.rawsim import simulate_raw

    sim = simulate_raw(root / "sim", shape=(128, 128), n_frames=frames, n_dyn=12, seed=1)
    raws = []
    for k in range(N_FILES):
        target = root / f"stack{k}.h5"
        shutil.copyfile(sim["raw"], target)
        raws.append(str(target))
    return raws, sim["qmap"]


DASK = """
import json, shutil, sys, time
from xpcs_core.batching import BatchSettings, run_batch
if __name__ == "__main__":
    qmap, out, workers, *raws = sys.argv[1:]
    shutil.rmtree(out, ignore_errors=True)
    marks = {"t0": time.perf_counter()}
    def started(link, n):
        marks["up"] = time.perf_counter()
    def progress(done, total, row):
        marks["last"] = time.perf_counter()
    settings = BatchSettings(inputs=raws, output=out, qmap=qmap, backend="numpy", workers=int(workers))
    outcome = run_batch(settings, on_start=started, progress=progress)
    assert not outcome.failed, outcome.failed
    print(json.dumps([marks["last"] - marks["up"], marks["up"] - marks["t0"]]))
"""


def _child(code: str, args: list[str], env: dict[str, str] | None = None) -> tuple[str, float]:
    """Run ``code`` in a fresh interpreter; (its stdout, CPU seconds of its whole process tree)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return res.stdout, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_direct(raws: list[str], qmap: str, out: Path, threads: int | None = 1) -> tuple[float, float]:
    """(wall s, CPU s) of the correlate() loop."""
    out.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    if threads is not None:
        env["NUMBA_NUM_THREADS"] = str(threads)
    stdout, cpu = _child(DIRECT, [qmap, str(out), *raws], env)
    return float(stdout.strip().splitlines()[-1]), cpu


def run_dask(raws: list[str], qmap: str, out: Path, workers: int) -> tuple[float, float, float]:
    """(wall s from cluster up to the last row, cluster start-up s, CPU s of everything)."""
    stdout, cpu = _child(DASK, [qmap, str(out), str(workers), *raws])
    wall, startup = json.loads(stdout.strip().splitlines()[-1])
    return wall, startup, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=4000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="xpcs-bench-batch-"))
    try:
        t = time.perf_counter()
        raws, qmap = make_inputs(root, args.frames)
        print(f"simulated {N_FILES} stacks in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        run_direct(raws[:1], qmap, root / "warm")  # numba's on-disk cache
        # marginal cost per file: (8 files - 1 file) / 7, so fixed costs (interpreter, imports,
        # cluster start-up and shutdown) drop out; they are reported separately
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in ("d1", "d8", "a8", "b1", "b8", "c8")}
        startup: list[float] = []
        for r in range(args.repeats):
            runs["d1"].append(run_direct(raws[:1], qmap, root / "direct", 1))
            runs["d8"].append(run_direct(raws, qmap, root / "direct", 1))
            runs["a8"].append(run_direct(raws, qmap, root / "direct", None))
            for key, files, workers in (("b1", raws[:1], 1), ("b8", raws, 1), ("c8", raws, 2)):
                wall, up, cpu = run_dask(files, qmap, str(root / f"dask{key}"), workers)
                runs[key].append((wall, cpu))
                startup.append(up)
            print(f"repeat {r + 1}: " + ", ".join(f"{k} {v[-1][0]:.2f} s wall / {v[-1][1]:.2f} s CPU"
                                                  for k, v in runs.items()), file=sys.stderr)
        wall = {k: statistics.median(x[0] for x in v) for k, v in runs.items()}
        cpu = {k: statistics.median(x[1] for x in v) for k, v in runs.items()}
        per = {k: ((wall[f"{k}8"] - wall[f"{k}1"]) / (N_FILES - 1), (cpu[f"{k}8"] - cpu[f"{k}1"]) / (N_FILES - 1))
               for k in ("d", "b")}
        load = os.getloadavg()
        names = {"d1": "direct correlate() loop, 1 thread, 1 file", "d8": "direct correlate() loop, 1 thread, 8 files",
                 "a8": "direct correlate() loop, all cores, 8 files", "b1": "batch, 1 worker x 1 thread, 1 file",
                 "b8": "batch, 1 worker x 1 thread, 8 files", "c8": "batch, 2 workers x 1 thread, 8 files"}
        lines = [
            f"# bench_batch: {N_FILES} raw stacks of 128 x 128 x {args.frames} frames (uint16, bitshuffle), "
            "multi-tau, numpy backend",
            f"# {platform.platform()}, python {platform.python_version()}, {os.cpu_count()} CPUs; "
            f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (machine shared with other jobs:"
            " wall times are noisy, CPU times much less)",
            "",
            f"  {'run (batch: from the cluster up to the last row)':52s} {'wall [s]':>9s} {'CPU [s]':>8s}   wall runs",
            *(f"  {names[k]:52s} {wall[k]:9.2f} {cpu[k]:8.2f}   " + ", ".join(f"{x[0]:.2f}" for x in v)
              for k, v in runs.items()),
            f"  cluster start-up (not in the batch wall times): median {statistics.median(startup):.2f} s",
            "",
            "marginal cost per file, (8 files - 1 file) / 7, CPU of the whole process tree:",
            f"  direct {per['d'][1]:.3f} s CPU ({per['d'][0]:.3f} s wall), "
            f"Dask path {per['b'][1]:.3f} s CPU ({per['b'][0]:.3f} s wall)",
            f"per-file overhead of the Dask path: {100 * (per['b'][1] / per['d'][1] - 1):+.1f} % CPU, "
            f"{100 * (per['b'][0] / per['d'][0] - 1):+.1f} % wall (target < 10 %)",
            f"fixed cost of the Dask path (cluster start, stop, worker imports): "
            f"{cpu['b1'] - cpu['d1']:+.2f} s CPU over the direct call for 1 file",
            f"speed-up 2 workers vs 1 (8 files): {wall['b8'] / wall['c8']:.2f}x wall (target >= 1.7x)",
        ]
        text = "\n".join(lines)
        print(text)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

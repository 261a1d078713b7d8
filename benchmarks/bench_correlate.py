"""The whole ``xpcs correlate`` command on an Eiger-style raw stack: wall time, frames/s, peak memory.

The raw stack is made once (``xpcs_core.correlation.rawsim``, Brownian speckle, uint16,
bitshuffle/LZ4, one frame per HDF5 chunk): 512 x 512 pixels x 3000 frames at 0.05
counts/pixel/frame, as an Eiger master file with external-linked data files of 1000
frames (``--frames-per-file 0``: one file, like ``xpcs simulate --raw``), in a temporary
folder (``--data DIR`` keeps it there and reuses it). Then the command
``xpcs correlate RAW --qmap QMAP --backend numpy -o RESULT --json`` runs ``--runs`` times,
each in its own process started by a small wrapper process that reads the peak resident
memory of its one child (``getrusage(RUSAGE_CHILDREN).ru_maxrss``): the wall time covers
everything (interpreter start, imports, kernel cache loading, the pass, the output file).
Medians are reported, with the stage timings of the command's report
(``timings``: read, pass, multitau... in seconds). Once more, in-process under cProfile:
the functions that take the time (the main thread only: a reader thread's own time shows
up as the report's timings).

Each invocation writes one labelled section (``--label``, default "after"; ``--note`` adds
a line) of ``results/correlate-cpu.txt`` and keeps the other labels' sections (the "before"
figure of an earlier code stays); "after" is compared with every "before..." section.
``--save-result FILE`` keeps the first run's result file; ``--compare FILE`` compares the
g2, errors, SAXS and I(t) of the first run with that file. The command runs with the
``xpcs_core`` that ``python -m`` finds from the current folder (the repository's, when run
from its root); from elsewhere, ``PYTHONPATH`` picks the code to measure.

    python benchmarks/bench_correlate.py [--label after] [--note TEXT] [--runs 3] [--frames 3000]
        [--shape 512 512] [--rate 0.05] [--frames-per-file 1000] [--data DIR]
        [--save-result FILE] [--compare FILE] [--no-profile]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import cpu_model  # benchmarks/_machine.py

RESULTS = Path(__file__).parent / "results" / "correlate-cpu.txt"
XPCS = [sys.executable, "-m", "xpcs_core.cli"]
#: result datasets compared by --compare (path suffixes)
COMPARED = ("multitau/normalized_g2", "multitau/normalized_g2_err", "multitau/normalized_g2_partial",
            "multitau/normalized_g2_partial_err", "multitau/delay_list", "multitau/config/valid_pairs",
            "spatial_mean/intensity_vs_time", "temporal_mean/scattering_1d",
            "temporal_mean/scattering_1d_segments", "temporal_mean/scattering_2d")


def make_data(root: Path, args: argparse.Namespace) -> dict:
    """The raw stack and its q-map under ``root`` (reused when its truth.json matches)."""
    from xpcs_core.correlation.rawsim import simulate_raw

    spec = {"shape": list(args.shape), "n_frames": args.frames, "rate": args.rate,
            "frames_per_file": args.frames_per_file or None, "compression": "bitshuffle"}
    truth = root / "truth.json"
    if truth.exists():
        old = json.loads(truth.read_text())
        if all(old["spec"].get(k) == v for k, v in spec.items()) and Path(old["raw"]).exists():
            return old
    t0 = time.perf_counter()
    out = simulate_raw(root, shape=tuple(args.shape), n_frames=args.frames, rate=args.rate,
                       frames_per_file=args.frames_per_file or None, compression="bitshuffle")
    print(f"made {out['raw']} in {time.perf_counter() - t0:.0f} s", flush=True)
    return out


def wrap(cmd: list[str]) -> dict:
    """Run ``cmd`` as this process's one child; its wall time, peak RSS and JSON report."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads(proc.stdout)
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
            "timings": report["timings"], "rate_fps": report["rate_fps"],
            "frames": report["frames_selected"], "path": report.get("multitau_path")}


def run_once(data: dict, output: Path) -> dict:
    cmd = [*XPCS, "correlate", data["raw"], "--qmap", data["qmap"], "--backend", "numpy",
           "-o", str(output), "--json"]
    proc = subprocess.run([sys.executable, __file__, "--wrap", json.dumps(cmd)],
                          capture_output=True, text=True, check=True)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" in res:
        raise SystemExit(f"xpcs correlate failed: {res['error']}")
    return res


PROFILE = """
import cProfile, io, pstats, sys
from xpcs_core.correlation import correlate
raw, qmap, out = sys.argv[1:4]
prof = cProfile.Profile()
prof.enable()
report = correlate(raw, qmap, out, backend="numpy")
prof.disable()
buf = io.StringIO()
stats = pstats.Stats(prof, stream=buf)
stats.sort_stats("tottime").print_stats(14)
print(buf.getvalue())
print("report timings [s]: " + ", ".join(f"{k} {v:.2f}" for k, v in report.timings.items()))
"""


def profile(data: dict, output: Path) -> str:
    proc = subprocess.run([sys.executable, "-c", PROFILE, data["raw"], data["qmap"], str(output)],
                          capture_output=True, text=True, check=True)
    keep = []
    for line in proc.stdout.splitlines():
        if not line.strip() or "Ordered by" in line or "List reduced" in line:
            continue
        line = re.sub(r"\S*/site-packages/", "", re.sub(r"\S*/(xpcs_core|plugins)/", r"\1/", line))
        keep.append("  " + line.strip())
    return "\n".join(keep)


def compare(result: Path, reference: Path) -> list[str]:
    """Largest relative difference of each compared dataset (and bit-identity)."""
    import h5py
    import numpy as np

    lines = []
    with h5py.File(result, "r") as a, h5py.File(reference, "r") as b:
        for suffix in COMPARED:
            key = f"xpcs/{suffix}"
            if key not in a or key not in b:
                lines.append(f"  {suffix:<42} missing in {'result' if key not in a else 'reference'}")
                continue
            x, y = np.asarray(a[key][()], dtype=np.float64), np.asarray(b[key][()], dtype=np.float64)
            if x.shape != y.shape:
                lines.append(f"  {suffix:<42} shapes differ {x.shape} vs {y.shape}")
                continue
            same = np.array_equal(x, y, equal_nan=True)
            scale = np.maximum(np.abs(y), np.finfo(np.float64).tiny)
            ok = np.isfinite(x) & np.isfinite(y)
            rel = float(np.max(np.abs(x - y)[ok] / scale[ok])) if ok.any() else 0.0
            lines.append(f"  {suffix:<42} {str(x.shape):<16} bit-identical {same!s:<5}  max rel diff {rel:.3g}")
    return lines


def _section(args: argparse.Namespace, data: dict, runs: list[dict], prof: str | None,
             cmp_lines: list[str] | None, load: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    walls = [r["wall_s"] for r in runs]
    rss = [r["peak_rss_mb"] for r in runs]
    n = runs[0]["frames"]
    med = statistics.median(walls)
    h, w = args.shape
    layout = (f"master + data files of {args.frames_per_file} frames" if args.frames_per_file else "one file")
    lines = [
        f"[{args.label}]",
        *([args.note] if args.note else []),
        f"xpcs correlate --backend numpy, {h} x {w} uint16 x {n} frames, {args.rate} counts/pixel/frame, "
        f"bitshuffle/LZ4 chunks of one frame, {layout}; multi-tau path {runs[0]['path']}",
        f"load average before/after: {load[0][0]:.1f} / {load[1][0]:.1f} (2 cores shared with other "
        "agents: wall times are noisy)",
        f"median wall {med:.2f} s over {len(runs)} runs ({', '.join(f'{x:.2f}' for x in walls)}): "
        f"{n / med:.0f} frames/s end to end; CPU {statistics.median(r['cpu_s'] for r in runs):.2f} s; "
        f"peak RSS {statistics.median(rss):.0f} MB (max {max(rss):.0f})",
        f"pass rate (report rate_fps, median): {statistics.median(r['rate_fps'] for r in runs):.0f} frames/s",
    ]
    keys = list(dict.fromkeys(k for r in runs for k in r["timings"]))
    lines.append("stage timings of the report, median [s]: " + ", ".join(
        f"{k} {statistics.median(r['timings'].get(k, 0.0) for r in runs):.2f}" for k in keys))
    if prof:
        lines += ["", "cProfile of one in-process run (main thread; tottime order):", prof]
    if cmp_lines:
        lines += ["", f"result compared with {args.compare}:", *cmp_lines]
    return "\n".join(lines)


def _write(section: str, label: str, out: Path) -> str:
    """Replace the ``[label]`` section of ``out`` (keep the others); return the whole text."""
    header = (f"xpcs correlate end to end: machine {cpu_model()}, {os.cpu_count()} cores; python "
              f"{platform.python_version()}")
    sections: dict[str, str] = {}
    if out.exists():
        for block in re.split(r"\n(?=\[[^\]\n]+\]\n)", out.read_text().strip()):
            m = re.match(r"\[([^\]\n]+)\]\n", block)
            if m:  # (the speed-up lines at the end are written anew)
                sections[m.group(1)] = re.sub(r"\n+speed-up after .*", "", block, flags=re.S).strip()
    sections[label] = section
    order = sorted(sections, key=lambda k: (not k.startswith("before"), k != "after", k))
    text = header + "\n\n" + "\n\n".join(sections[k] for k in order)
    speed = _speedup(sections)
    if speed:
        text += "\n\n" + speed
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return text


def _speedup(sections: dict[str, str]) -> str:
    """after / before (and / any other "before..." section, e.g. one re-measured next to after)."""
    def wall(label: str) -> float | None:
        m = re.search(r"median wall ([\d.]+) s", sections.get(label, ""))
        return float(m.group(1)) if m else None

    after = wall("after")
    lines = [f"speed-up after / {label} (median wall): {wall(label) / after:.2f}x"
             for label in sorted(sections) if label.startswith("before") and wall(label) and after]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="after")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--shape", type=int, nargs=2, default=(512, 512))
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument("--frames-per-file", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--save-result", type=Path, default=None)
    parser.add_argument("--compare", type=Path, default=None)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--note", default="", help="a line for the section (which code, how it was run)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--wrap")
    args = parser.parse_args()
    if args.wrap:
        print(json.dumps(wrap(json.loads(args.wrap))))
        return
    tmp = tempfile.mkdtemp(prefix="bench_correlate_")
    try:
        root = args.data or Path(tmp) / "data"
        data = make_data(root, args)
        load0 = os.getloadavg()
        runs = []
        for k in range(args.runs):
            res = run_once(data, Path(tmp) / f"result{k}.h5")
            runs.append(res)
            print(f"run {k + 1}: {res['wall_s']:.2f} s wall, peak RSS {res['peak_rss_mb']:.0f} MB, "
                  f"timings {res['timings']}", flush=True)
        first = Path(tmp) / "result0.h5"
        if args.save_result:
            shutil.copyfile(first, args.save_result)
        cmp_lines = compare(first, args.compare) if args.compare else None
        prof = None if args.no_profile else profile(data, Path(tmp) / "profiled.h5")
        section = _section(args, data, runs, prof, cmp_lines, (load0, os.getloadavg()))
        print(_write(section, args.label, args.out))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

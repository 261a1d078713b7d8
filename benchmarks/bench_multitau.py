"""Streaming multi-tau on 512 x 512 uint16 frames: frames/s and peak memory, side by side.

Poisson frames at 0.05 and 0.5 counts/pixel/frame are made chunk by chunk (a 16-bit
inverse-CDF table, outside the timed region; the stack is never held). Every CPU
backend's accumulator and path runs on all 262 144 pixels (the 36 dynamic / 360 static
bins only matter after the accumulator): numpy (numba) dense, sparse and auto, jax, and
scikit-beam's ``multi_tau_auto_corr`` (per-ROI sums over 360 ring labels) on fewer
frames, scaled. Each configuration runs in its own process, started by a small wrapper
process that reads the peak resident memory of its one child with
``getrusage(RUSAGE_CHILDREN).ru_maxrss``. The first chunk (compilation, cache loading)
is not timed. Peak memory at 10^4 vs 4*10^4 frames shows that it does not grow with
the frame count. Writes ``results/multitau-cpu.txt``.

    python benchmarks/bench_multitau.py [--frames 10000] [--memory-frames 40000]
        [--jax-frames 384] [--skbeam-frames 200] [--chunk 256]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from _machine import cpu_model  # benchmarks/_machine.py

SHAPE = (512, 512)
RESULTS = Path(__file__).parent / "results" / "multitau-cpu.txt"


def _chunks(rate: float, n_frames: int, chunk: int, seed: int = 0):
    """Poisson(rate) uint16 frames, ``chunk`` at a time, from a 16-bit inverse-CDF table."""
    import numpy as np
    from scipy.stats import poisson

    table = poisson.ppf((np.arange(65536) + 0.5) / 65536, rate).astype(np.uint16)
    rng = np.random.default_rng(seed)
    n_pix = SHAPE[0] * SHAPE[1]
    for start in range(0, n_frames, chunk):
        k = min(chunk, n_frames - start)
        yield table[rng.integers(0, 65536, size=(k, n_pix), dtype=np.uint16)]


def _ring_labels(n_labels: int = 360):
    import numpy as np

    y, x = np.indices(SHAPE)
    r = np.hypot(y - SHAPE[0] / 2, x - SHAPE[1] / 2).ravel()
    order = np.argsort(r, kind="stable")
    labels = np.empty(r.size, dtype=np.int64)
    labels[order] = 1 + np.arange(r.size) * n_labels // r.size
    return labels.reshape(SHAPE)


def worker(cfg: dict) -> dict:
    """Run one configuration; the first chunk is a warm-up (compile / cache load)."""
    chunk, n = cfg["chunk"], cfg["frames"]
    if cfg["backend"] == "scikit-beam":
        from skbeam.core.correlation import lazy_one_time

        labels = _ring_labels()
        frames = (f.reshape(-1, *SHAPE) for f in _chunks(cfg["rate"], n, chunk))
        first = next(frames)
        gen = lazy_one_time(iter(first), 11, 8, labels)
        for state in gen:
            pass
        timed, cpu0, t0 = 0, time.process_time(), time.perf_counter()
        for block in frames:
            for state in lazy_one_time(iter(block), 11, 8, labels, state.internal_state):
                pass
            timed += len(block)
        wall = time.perf_counter() - t0
        return {"timed_frames": timed, "wall_s": wall, "cpu_s": time.process_time() - cpu0,
                "path_used": "per-ROI"}
    from xpcs_core.backends import call
    from xpcs_core.kernels.multitau import MultitauOptions

    acc, _ = call("xpcs_multitau_accumulator", backend=cfg["backend"], n_pixels=SHAPE[0] * SHAPE[1],
                  n_frames=n, options=MultitauOptions(path=cfg["path"]))
    gen = _chunks(cfg["rate"], n, chunk)
    acc.update(next(gen))
    if hasattr(acc, "_flush"):
        acc._flush()  # the first block is the warm-up
    if hasattr(acc, "_state") and acc._state is not None:
        acc._state["g2"].block_until_ready()
    timed, busy, cpu = 0, 0.0, 0.0
    for block in gen:  # frame generation is not timed
        c0, t0 = time.process_time(), time.perf_counter()
        acc.update(block)
        busy += time.perf_counter() - t0
        cpu += time.process_time() - c0
        timed += len(block)
    c0, t0 = time.process_time(), time.perf_counter()
    out = acc.finish()
    busy += time.perf_counter() - t0
    cpu += time.process_time() - c0
    return {"timed_frames": timed, "wall_s": busy, "cpu_s": cpu, "path_used": out.path,
            "n_tau": int(out.delays.size)}


def wrap(cfg: dict) -> dict:
    """Run ``worker(cfg)`` in a child process; add the child's peak resident memory."""
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(cfg)],
                          capture_output=True, text=True)
    if proc.returncode:
        return {**cfg, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {**cfg, **res}


def run(cfg: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--wrap", json.dumps(cfg)],
                          capture_output=True, text=True, check=True)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" not in res:
        res["fps"] = res["timed_frames"] / res["wall_s"]
        res["cpu_ms"] = 1e3 * res["cpu_s"] / res["timed_frames"]
    return res


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--memory-frames", type=int, default=40_000)
    parser.add_argument("--jax-frames", type=int, default=384)
    parser.add_argument("--skbeam-frames", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--worker")
    parser.add_argument("--wrap")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    if args.wrap:
        print(json.dumps(wrap(json.loads(args.wrap))))
        return
    chunk = args.chunk
    configs = []
    for rate in (0.05, 0.5):
        for path in ("auto", "sparse", "dense"):
            configs.append({"backend": "numpy", "path": path, "rate": rate, "frames": args.frames})
        configs.append({"backend": "jax", "path": "auto", "rate": rate, "frames": args.jax_frames})
        configs.append({"backend": "scikit-beam", "path": "-", "rate": rate,
                        "frames": args.skbeam_frames})
    configs.append({"backend": "numpy", "path": "auto", "rate": 0.05, "frames": args.memory_frames})
    load0 = os.getloadavg()
    results = []
    for cfg in configs:
        small = {"scikit-beam": 50, "jax": max(cfg["frames"] // 3, 1)}.get(cfg["backend"], chunk)
        cfg["chunk"] = min(chunk, small)
        res = run(cfg)
        results.append(res)
        print(_line(res), flush=True)
    report = _report(results, args, load0, os.getloadavg())
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report + "\n")


def _line(r: dict) -> str:
    name = f"{r['backend']:<12} {r['path']:<7} rate {r['rate']:<5} {r['frames']:>6} frames"
    if "error" in r:
        return f"{name}  FAILED: {r['error']}"
    return (f"{name}  {r['fps']:8.1f} frames/s  {r['cpu_ms']:7.2f} ms CPU/frame  "
            f"peak RSS {r['peak_rss_mb']:7.0f} MB  (path used: {r['path_used']})")


def _report(results: list[dict], args, load0, load1) -> str:
    import numba
    import numpy as np

    ok = [r for r in results if "error" not in r]

    def fps(backend, path, rate, frames=None):
        for r in ok:
            if (r["backend"], r["path"], r["rate"]) == (backend, path, rate) and (
                    frames is None or r["frames"] == frames):
                return r
        return None

    lines = [
        "Streaming multi-tau, 512 x 512 uint16 frames (all 262144 pixels), Poisson counts",
        f"machine: {cpu_model()}, {os.cpu_count()} cores; python {platform.python_version()}, "
        f"numpy {np.__version__}, numba {numba.__version__}",
        f"load average before/after: {load0[0]:.1f} / {load1[0]:.1f} (the CPU is shared with "
        "other agents: wall-clock figures are pessimistic and noisy)",
        f"chunk {args.chunk} frames (jax: a third of its frames, scikit-beam: 50); first chunk "
        "untimed (compile / cache load); frame generation untimed; frames/s = timed frames / "
        "wall time of update+finish",
        "",
    ]
    lines += [_line(r) for r in results]
    lines.append("")
    for rate in (0.05, 0.5):
        auto, sk = fps("numpy", "auto", rate, args.frames), fps("scikit-beam", "-", rate)
        dense, sparse = fps("numpy", "dense", rate), fps("numpy", "sparse", rate)
        jax = fps("jax", "auto", rate)
        if auto and sk:
            lines.append(f"rate {rate}: numpy auto / scikit-beam = {auto['fps'] / sk['fps']:.1f}x")
        if dense and sparse:
            lines.append(f"rate {rate}: numpy sparse / dense = {sparse['fps'] / dense['fps']:.2f}x")
        if auto and jax:
            lines.append(f"rate {rate}: numpy auto / jax = {auto['fps'] / jax['fps']:.1f}x")
    small, big = fps("numpy", "auto", 0.05, args.frames), fps("numpy", "auto", 0.05, args.memory_frames)
    if small and big:
        lines.append(f"peak RSS {args.memory_frames} vs {args.frames} frames (numpy auto, 0.05): "
                     f"{big['peak_rss_mb']:.0f} / {small['peak_rss_mb']:.0f} MB = "
                     f"{big['peak_rss_mb'] / small['peak_rss_mb']:.2f} (lags: {big.get('n_tau')} vs "
                     f"{small.get('n_tau')}; the per-lag sums are the output)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""GPU figures: streaming multi-tau and SAXS binning on cupy and jax, beside numpy.

Multi-tau on 512 x 512 and 1024 x 1024 uint16 Poisson frames (0.05 and 0.5
counts/pixel/frame): cupy with its CUDA kernel, cupy's generic vectorised accumulator,
jax (lax.scan) and the numpy backend (numba, on this machine's CPU cores). Frames come
from the host in blocks, as the correlator gives them (the transfer is timed); the
first block is a warm-up (compilation). Binning: the SAXS-1D mean of 100 frames of a
2167 x 2070 detector over 100 rings, per backend. Prints a table with ratios; run by
benchmarks/gpu/check.sh on a lent GPU, which stores it as results/multitau-gpu.txt.
Without a usable GPU it says so and exits 0.

    python benchmarks/bench_multitau_gpu.py [--frames 2048] [--chunk 256]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from _machine import cpu_model  # benchmarks/_machine.py


def _blocks(shape: tuple[int, int], rate: float, chunk: int) -> list[np.ndarray]:
    """Four distinct Poisson blocks, reused in turn (generation is not timed)."""
    rng = np.random.default_rng(0)
    return [rng.poisson(rate, size=(chunk, shape[0] * shape[1])).astype(np.uint16) for _ in range(4)]


def _multitau(make, blocks: list[np.ndarray], n_frames: int, sync) -> float:
    acc = make(n_frames)
    acc.update(blocks[0])  # warm-up: compilation
    sync(acc)
    t0 = time.perf_counter()
    done = len(blocks[0])
    while done + len(blocks[0]) <= n_frames:
        acc.update(blocks[(done // len(blocks[0])) % len(blocks)])
        done += len(blocks[0])
    acc.finish()
    return (done - len(blocks[0])) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=2048)
    parser.add_argument("--chunk", type=int, default=256)
    args = parser.parse_args()
    from xpcs_core.backends import Backend, call
    from xpcs_core.kernels.multitau import MultitauOptions

    cupy_backend = Backend("cupy")
    if not cupy_backend.info.available:
        print(f"no usable GPU for cupy ({cupy_backend.info.reason}): nothing measured")
        return
    import cupy as cp

    from xpcs_cupy._multitau_cuda import cupy_launch
    from xpcs_cupy.multitau import make_accumulator

    launch = cupy_launch()
    dev = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    print(f"GPU: {dev}; CPU: {cpu_model()}, {os.cpu_count()} cores; python {platform.python_version()}, "
          f"cupy {cp.__version__}; kernel {'verified' if launch else 'NOT verified: generic only'}")
    print(f"multi-tau: {args.frames} frames in blocks of {args.chunk} from host memory, first block untimed")
    opts = MultitauOptions()

    def sync(acc):
        cp.cuda.Device().synchronize()

    def backend_make(name):
        return lambda n_pix: lambda n: call("xpcs_multitau_accumulator", backend=name, n_pixels=n_pix,
                                            n_frames=n, options=opts)[0]

    for shape in ((512, 512), (1024, 1024)):
        n_pix = shape[0] * shape[1]
        for rate in (0.05, 0.5):
            blocks = _blocks(shape, rate, args.chunk)
            rows = {}
            makers = {
                "cupy kernel": lambda n: make_accumulator(cp, n_pix, n, opts, cp.asnumpy, launch),
                "cupy generic": lambda n: make_accumulator(cp, n_pix, n, opts, cp.asnumpy, None),
                "jax": backend_make("jax")(n_pix),
                "numpy": backend_make("numpy")(n_pix),
            }
            for name, make in makers.items():
                if name == "cupy kernel" and launch is None:
                    continue
                try:
                    rows[name] = _multitau(make, blocks, args.frames, sync)
                except Exception as exc:  # report and go on: one failure must not hide the rest
                    print(f"  {name}: FAILED {type(exc).__name__}: {exc}")
            base = rows.get("numpy")
            for name, fps in rows.items():
                ratio = f"  {fps / base:6.2f}x numpy" if base else ""
                print(f"{shape[0]}x{shape[1]} rate {rate:<5} {name:<13} {fps:10.0f} frames/s{ratio}")
            cp.get_default_memory_pool().free_all_blocks()

    print("binning: SAXS-1D mean of 100 frames of 2167 x 2070 over 100 rings (uint16 from host)")
    rng = np.random.default_rng(1)
    frames = rng.poisson(0.5, size=(100, 2167, 2070)).astype(np.uint16)
    y, x = np.indices((2167, 2070))
    labels = (np.hypot(y - 1000.0, x - 1100.0) // 15).astype(np.int64) + 1
    labels[labels > 100] = 0
    times = {}
    for name in ("cupy", "jax", "numpy"):
        call("xpcs_binned_mean", backend=name, data=frames[:2], labels=labels, n_labels=100)  # warm-up
        t = []
        for _ in range(3):
            t0 = time.perf_counter()
            out, _ = call("xpcs_binned_mean", backend=name, data=frames, labels=labels, n_labels=100)
            Backend(name).to_numpy(out.means)
            t.append(time.perf_counter() - t0)
        times[name] = float(np.median(t))
    for name, sec in times.items():
        print(f"binning {name:<6} {sec * 1e3:9.1f} ms   {times['numpy'] / sec:6.2f}x numpy")


if __name__ == "__main__":
    main()

"""The cupy backend's multi-tau kernel: all lags of one level in one pass over a block.

The generic accumulator (:class:`xpcs_core.kernels.multitau.StreamingMultitau`) makes a
product array per lag and reduces it: at level 0 eight passes over the block, each
writing and reading a temporary as large as the block. :data:`SOURCE` runs one CUDA
thread per pixel that walks the block's frames once, keeping the previous eight frames
of its pixel in registers, and adds ⟨I(t)I(t+m)⟩, ⟨I(t)⟩ and ⟨I(t+m)⟩ for every lag m of
the level in the same pass: the block is read once and nothing else is written.

The source is plain CUDA C without includes, compiled at run time by cupy (NVRTC). It
is checked at first use against the generic accumulator on a small problem with bad
frames (:func:`verify`); if it fails to compile or disagrees, a warning says so and the
generic accumulator is used. CPU-only tests compile the same source with nvcc (syntax,
types) and run it as C++ over every thread index (semantics), see
tests/test_cupy_multitau_kernel.py.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from xpcs_core.kernels.multitau import MultitauOptions, StreamingMultitau, level_lags
from xpcs_cupy.runtime import cupy_module, guard_memory

log = logging.getLogger(__name__)

KERNEL = "multitau_level"
THREADS = 256

SOURCE = r"""
extern "C" __global__ void multitau_level(
    const double* __restrict__ ext,   /* (n_ext, n_pix): the ring's frames, then the block's */
    const double* __restrict__ w,     /* (n_ext,): 1 = valid frame, 0 = bad (its row is 0) */
    const long long n_ext, const long long n_pix,
    const long long r,                /* first new frame: pairs end at frames r..n_ext-1 */
    const int m_first,                /* the level's lags are m_first..8 */
    const long long row0,             /* row of lag m_first in the sums */
    double* __restrict__ g2, double* __restrict__ ip, double* __restrict__ i_f)
{
    const long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= n_pix) return;
    double hx[8], hw[8];              /* hx[k], hw[k]: frame t-1-k of this pixel, its weight */
    double sg[8], sp[8], sf[8];       /* sums of lag k+1 */
#pragma unroll
    for (int k = 0; k < 8; ++k) {
        const long long s = r - 1 - k;
        hx[k] = s >= 0 ? ext[s * n_pix + p] : 0.0;
        hw[k] = s >= 0 ? w[s] : 0.0;
        sg[k] = 0.0; sp[k] = 0.0; sf[k] = 0.0;
    }
    for (long long t = r; t < n_ext; ++t) {
        const double x = ext[t * n_pix + p];
        const double wt = w[t];
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            if (k + 1 >= m_first) {
                sg[k] += hx[k] * x;
                sp[k] += wt * hx[k];
                sf[k] += hw[k] * x;
            }
        }
#pragma unroll
        for (int k = 7; k > 0; --k) { hx[k] = hx[k - 1]; hw[k] = hw[k - 1]; }
        hx[0] = x; hw[0] = wt;
    }
#pragma unroll
    for (int k = 0; k < 8; ++k) {
        if (k + 1 >= m_first) {
            const long long i = (row0 + k + 1 - m_first) * n_pix + p;
            g2[i] += sg[k]; ip[i] += sp[k]; i_f[i] += sf[k];
        }
    }
}
"""

#: launch(grid, block, args): cupy's RawKernel call convention
Launch = Callable[[tuple[int], tuple[int], tuple[Any, ...]], None]


class GpuMultitau(StreamingMultitau):
    """The generic accumulator on the GPU: out of memory mid-stream is an XpcsBackendError."""

    update = guard_memory(StreamingMultitau.update)
    finish = guard_memory(StreamingMultitau.finish)


class KernelMultitau(GpuMultitau):
    """:class:`GpuMultitau` whose per-level lag sums run :data:`SOURCE` through
    ``launch`` (a cupy ``RawKernel``; in CPU tests the same source compiled as C++)."""

    def __init__(self, xp: Any, n_pixels: int, n_frames: int, options: MultitauOptions,
                 launch: Launch, to_numpy: Any = np.asarray) -> None:
        super().__init__(xp, n_pixels, n_frames, options, to_numpy=to_numpy)
        self._launch = launch

    def _lag_sums(self, level: int, ext: Any, w_ext: np.ndarray, r: int) -> None:
        xp = self.xp
        lags = level_lags(level)
        assert lags == tuple(range(lags[0], 9)), lags  # what the kernel assumes
        ext = xp.ascontiguousarray(ext, dtype=xp.float64)
        n_ext, n_pix = ext.shape
        grid = ((n_pix + THREADS - 1) // THREADS,)
        self._launch(grid, (THREADS,), (
            ext, xp.asarray(w_ext, dtype=xp.float64), np.int64(n_ext), np.int64(n_pix),
            np.int64(r), np.int32(lags[0]), np.int64(self._first_row[level]),
            self._g2, self._ip, self._if))


def verify(xp: Any, launch: Launch, to_numpy: Any = np.asarray) -> str | None:
    """Why the kernel must not be used (it failed or disagrees with the generic
    accumulator on 300 frames x 300 pixels with bad frames, blocks of 37), or None."""
    rng = np.random.default_rng(12)
    n_frames, n_pix = 300, 300
    frames = rng.poisson(rng.gamma(2.0, 1.0, size=(1, n_pix)), size=(n_frames, n_pix)).astype(np.uint16)
    valid = rng.random(n_frames) > 0.05
    options = MultitauOptions()
    got_acc = KernelMultitau(xp, n_pix, n_frames, options, launch, to_numpy)
    want_acc = StreamingMultitau(xp, n_pix, n_frames, options, to_numpy)
    try:
        for s in range(0, n_frames, 37):
            block = xp.asarray(frames[s : s + 37])
            got_acc.update(block, valid[s : s + 37])
            want_acc.update(block, valid[s : s + 37])
        got, want = got_acc.finish(), want_acc.finish()
    except Exception as exc:  # CompileException, CUDADriverError, ...
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    for key in ("G2", "IP", "IF"):
        a, b = getattr(got, key), getattr(want, key)
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-12, atol=0.0):
            return f"the kernel's {key} differs from the generic accumulator's"
    return None


@functools.cache
def cupy_launch() -> Launch | None:
    """The compiled kernel if it passes :func:`verify` on this GPU, else None (warned once)."""
    cp = cupy_module()
    try:
        launch = cp.RawKernel(SOURCE, KERNEL)
        problem = verify(cp, launch, cp.asnumpy)
    except Exception as exc:  # compilation happens at the first call, inside verify
        problem = f"{type(exc).__name__}: {exc}"
    if problem is not None:
        log.warning("cupy: the multi-tau kernel is not used (%s); the generic accumulator runs", problem)
        return None
    return launch

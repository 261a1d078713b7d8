"""Streaming multi-tau on NumPy + numba (hookimpl ``xpcs_multitau_accumulator``).

docs/physics.md "Multi-tau correlation". The kernels (``_multitau_*``) keep the lag
window of a pixel tile in cache while time advances, accumulate in float64 and come in
a dense and a sparse (cost ∝ photons) flavour. IP and IF are not summed per lag: they
follow from the per-level totals, the first and last frames and the corrections for
bad frames, which the kernels keep. State (``P`` pixels, ``R`` lag rows, ``N`` levels,
float64): 3·R·P lag sums and corrections, 9·N·P ring and totals, 20·P bytes per sparse
level, and a buffer of ``block`` frames when smaller blocks arrive; nothing grows with
the number of frames (``R`` and ``N`` grow with its logarithm). numba is imported on
first use.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels.multitau import (
    MultitauOptions,
    MultitauSums,
    canonical_dtype,
    check_block,
    check_setup,
    lag_rows,
    level_count,
    level_lags,
)

__all__ = ["xpcs_multitau_accumulator", "NumbaMultitau"]

TILE = 1024  # pixels per tile: one level's lag window (~20 rows x 8 KiB) stays in L2
MIN_BLOCK = 256  # frames processed together: the per-pixel state is streamed once per block
BLOCK_ELEMENTS = 1 << 26  # ... but a block buffer never holds more values than this (128 MiB of uint16)
DENSITY_SWITCH = 0.12  # a level is sparse while its expected nonzero fraction is below this


def _n_threads() -> int:
    """Worker threads: ``NUMBA_NUM_THREADS`` when set, else the CPUs this process may use."""
    env = os.environ.get("NUMBA_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """Threads that run the tiles of a block (the numba kernels release the GIL)."""
    return ThreadPoolExecutor(max_workers=_n_threads(), thread_name_prefix="xpcs-multitau")


class NumbaMultitau:
    """Multi-tau accumulator with numba kernels (see the module docstring).

    ``dense_from_level`` forces the first dense level (0 = all dense); by default the
    path comes from ``options.path`` and, for ``"auto"``, from the first block's rate.
    ``tile``: pixels per tile. Smaller ``update`` blocks are gathered
    into ``block`` frames before they are processed (the state of every level is read
    once per block). ``finish`` consumes the state.
    """

    def __init__(self, n_pixels: int, n_frames: int, options: MultitauOptions,
                 dense_from_level: int | None = None, tile: int | None = None,
                 block: int = MIN_BLOCK) -> None:
        check_setup(n_pixels, n_frames, options)
        self.n_pixels, self.n_frames, self.options = int(n_pixels), int(n_frames), options
        self.frames_seen = 0
        self.n_levels = level_count(self.n_frames, options.n_levels)
        levels, _, self._delays = lag_rows(self.n_levels)
        self._row_off = np.searchsorted(levels, np.arange(self.n_levels + 1)).astype(np.int64)
        self._forced, self._tile = dense_from_level, tile
        self._block = max(1, min(int(block), BLOCK_ELEMENTS // max(self.n_pixels, 1)))
        self._buf: np.ndarray | None = None
        self._buf_valid = np.zeros(0, dtype=bool)
        self._buf_n = 0
        self._n_sparse: int | None = None
        self._result: MultitauSums | None = None

    # ------------------------------------------------------------------ set-up
    def _choose_sparse_levels(self, frames: np.ndarray, valid: np.ndarray) -> int:
        from xpcs_numpy._multitau_numba import count_nonzero

        if self._forced is not None:
            return min(max(int(self._forced), 0), self.n_levels)
        path = self.options.path
        if path == "dense":
            return 0
        nz, tot, counts = count_nonzero(frames, valid)
        rate = counts / max(tot, 1)
        if path == "auto" and rate >= self.options.sparse_threshold:
            return 0
        density = nz / max(tot, 1)
        n = 0
        while n < self.n_levels and 1.0 - (1.0 - density) ** (2**n) < DENSITY_SWITCH:
            n += 1
        return max(n, 1) if path == "sparse" else n

    def _allocate(self, n_sparse: int) -> None:
        p, rows, n_lv = self.n_pixels, int(self._delays.size), self.n_levels
        self._n_sparse = n_sparse
        self._g2 = np.zeros(rows * p)
        self._ipc = np.zeros(rows * p)
        self._ifc = np.zeros(rows * p)
        self._s = np.zeros(n_lv * p)
        self._ring = np.zeros(n_lv * 8 * p)
        n_sp, p_sp = (n_sparse, p) if n_sparse else (1, 1)
        self._last = np.full((n_sp, p_sp), -100 << 8, dtype=np.int64)
        tile = self._tile or TILE
        self._tile_size = max(1, min(int(tile), p))
        n_tiles = -(-p // self._tile_size)
        self._pend_idx = np.zeros((n_sp, p_sp), dtype=np.int32)
        self._pend_val = np.zeros((n_sp, p_sp))
        self._pend_n = np.zeros((n_sp, n_tiles), dtype=np.int64)
        self._n_seen = np.zeros(n_lv, dtype=np.int64)
        self._ring_valid = np.zeros((n_lv, 8), dtype=np.int64)
        self._n_pairs = np.zeros(rows, dtype=np.int64)

    @property
    def path(self) -> str:
        return "sparse" if self._n_sparse else "dense"

    # ------------------------------------------------------------------ streaming
    def update(self, frames: Any, valid: np.ndarray | None = None) -> None:
        from xpcs_core.errors import XpcsInputError

        if self._result is not None:
            raise XpcsInputError("multitau: update after finish")
        frames = np.asarray(frames)
        w = check_block(frames, valid, self.n_pixels, self.frames_seen, self.n_frames)
        frames = frames.astype(canonical_dtype(frames.dtype), copy=False)
        self.frames_seen += frames.shape[0]
        start = 0
        if self._buf_n and self._buf.dtype != frames.dtype:
            self._flush()
        if self._buf_n:  # top the buffer up first
            start = min(self._block - self._buf_n, frames.shape[0])
            self._stash(frames[:start], w[:start])
        n_direct = (frames.shape[0] - start) // self._block * self._block
        if n_direct:
            self._process(np.ascontiguousarray(frames[start : start + n_direct]),
                          w[start : start + n_direct])
        rest = start + n_direct
        if rest < frames.shape[0] and self.frames_seen == self.n_frames and not self._buf_n:
            # the last frames: the same short block finish would process, without the copy
            self._process(np.ascontiguousarray(frames[rest:]), w[rest:].copy())
        elif rest < frames.shape[0]:
            self._stash(frames[rest:], w[rest:])

    def _stash(self, frames: np.ndarray, w: np.ndarray) -> None:
        """Keep frames until a block of ``self._block`` is complete (amortises the state traffic)."""
        if self._buf is None or self._buf.dtype != frames.dtype:
            self._buf = np.empty((self._block, self.n_pixels), dtype=frames.dtype)
            self._buf_valid = np.empty(self._block, dtype=bool)
        n0, n1 = self._buf_n, self._buf_n + frames.shape[0]
        self._buf[n0:n1] = frames
        self._buf_valid[n0:n1] = w
        self._buf_n = n1
        if n1 == self._block:
            self._flush()

    def _flush(self) -> None:
        if self._buf_n:
            n, self._buf_n = self._buf_n, 0
            self._process(self._buf[:n], self._buf_valid[:n].copy())

    def _process(self, frames: np.ndarray, w: np.ndarray) -> None:
        from xpcs_numpy._multitau_numba import run_tiles, schedule

        if self._n_sparse is None:
            self._allocate(self._choose_sparse_levels(frames, w))
        ev = schedule(w, self.n_levels, self._n_seen, self._ring_valid, self._n_pairs, self._row_off)
        ev = ev[np.argsort(ev[:, 0], kind="stable")]
        starts = np.searchsorted(ev[:, 0], np.arange(self.n_levels + 1)).astype(np.int64)
        state = (self.n_levels, self._n_sparse, self._row_off, self._g2, self._ipc, self._ifc,
                 self._s, self._ring, self._last, self._pend_idx, self._pend_val, self._pend_n)
        n_threads = min(_n_threads(), self._pend_n.shape[1])
        if n_threads == 1:
            run_tiles(frames, ev, starts, self._tile_size, 0, 1, *state)
            return
        jobs = [_pool().submit(run_tiles, frames, ev, starts, self._tile_size, k, n_threads, *state)
                for k in range(n_threads)]
        for job in jobs:
            job.result()

    def finish(self) -> MultitauSums:
        if self._result is None:
            self._result = self._finish()
        return self._result

    def _finish(self) -> MultitauSums:
        p = self.n_pixels
        self._flush()
        self._buf = None
        if self._n_sparse is None:
            self._allocate(0)
        g2 = self._g2.reshape(-1, p)
        ip, i_f = self._ipc.reshape(-1, p), self._ifc.reshape(-1, p)
        for level in range(self.n_levels):
            r0, r1 = self._row_off[level], self._row_off[level + 1]
            total = self._s[level * p : (level + 1) * p]
            sparse = level < self._n_sparse
            ring = self._ring[level * 8 * p : (level + 1) * 8 * p].reshape((p, 8) if sparse else (8, p))
            if sparse:
                region = self._g2[r0 * p : r1 * p]
                region[:] = region.reshape(p, r1 - r0).T.ravel()
            n = int(self._n_seen[level])
            tail = np.zeros(p)
            for j, m in enumerate(level_lags(level)):
                tail[:] = 0.0
                for f in range(max(n - m, 0), n):
                    tail += self._frame_values(ring, level, f, sparse)
                ip[r0 + j] += total - tail
                i_f[r0 + j] += total
        self._ring = self._s = self._last = self._pend_idx = self._pend_val = None
        keep = self._n_pairs > 0
        div = self._n_pairs[keep].astype(np.float64)[:, None]
        if keep.all():
            g2 /= div
            ip /= div
            i_f /= div
        else:
            g2, ip, i_f = g2[keep] / div, ip[keep] / div, i_f[keep] / div
        return MultitauSums(self._delays[keep], g2, ip, i_f, self._n_pairs[keep].copy(), self.path)

    def _frame_values(self, ring: np.ndarray, level: int, frame: int, sparse: bool) -> np.ndarray:
        if not sparse:
            return ring[frame & 7]
        packed = self._last[level]
        d = (packed >> 8) - frame
        inside = (d >= 0) & (d < 8) & (((packed & 255) >> np.clip(d, 0, 7)) & 1).astype(bool)
        return np.where(inside, ring[:, frame & 7], 0.0)


@hookimpl
def xpcs_multitau_accumulator(n_pixels: int, n_frames: int, options: MultitauOptions) -> Any:
    return NumbaMultitau(n_pixels, n_frames, options)

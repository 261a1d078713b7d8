"""Per-chunk bookkeeping of the correlation pass, kept cheap next to the correlation itself.

For each chunk of frames ``(n, H·W)``: the correlated pixels gathered into a contiguous
``(n, n_pix)`` block (by copying runs of consecutive pixels when the pixels form few
runs, as rings of a q-map do; else ``np.take``), each frame's total over the correlated
pixels, and the per-pixel sum over the good frames (integers are summed in integers).
Work goes a few frames at a time so that each piece is still in cache for the next step.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Gather"]

#: elements per piece (about 2 MB of uint16)
_PIECE = 1 << 20
#: frames of 16-bit counts a uint32 sum holds without overflow
_U32_ROWS = (2**32 - 1) // (2**16 - 1)


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.kind in "ub" and dtype.itemsize <= 2:
        return np.dtype(np.uint32)  # exact for up to 65537 frames of 16-bit counts
    if dtype.kind in "iub":
        return np.dtype(np.int64)
    return np.dtype(np.float64)


class Gather:
    """Gather the pixels ``pixels`` (sorted flat indices) of chunks of frames."""

    def __init__(self, pixels: np.ndarray, n_pixels_frame: int) -> None:
        self.pixels = np.asarray(pixels, dtype=np.int64)
        self.n_frame = int(n_pixels_frame)
        breaks = np.flatnonzero(np.diff(self.pixels) != 1) + 1
        starts = self.pixels[np.r_[0, breaks]] if self.pixels.size else np.zeros(0, np.int64)
        ends = self.pixels[np.r_[breaks - 1, self.pixels.size - 1]] + 1 if self.pixels.size else starts
        self.all = self.pixels.size == self.n_frame
        self.use_runs = starts.size * 32 <= self.pixels.size
        offsets = np.r_[0, np.cumsum(ends - starts)]
        self.runs = list(zip(starts.tolist(), ends.tolist(), offsets[:-1].tolist(), offsets[1:].tolist(),
                             strict=True))

    def _into(self, src: np.ndarray, out: np.ndarray) -> None:
        if self.all:
            out[...] = src
        elif self.use_runs:
            for a, b, o1, o2 in self.runs:
                out[:, o1:o2] = src[:, a:b]
        else:
            np.take(src, self.pixels, axis=1, out=out)

    def totals(self, flat: np.ndarray) -> np.ndarray:
        """Frame totals (n,) over the gathered pixels, without keeping the gathered frames."""
        n = flat.shape[0]
        out = np.empty(n, dtype=np.float64)
        acc_dtype = _sum_dtype(flat.dtype)
        acc_dtype = np.dtype(np.uint64) if acc_dtype.kind == "u" else acc_dtype
        step = max(1, _PIECE // max(self.n_frame, 1))
        for lo in range(0, n, step):
            piece = flat[lo : lo + step]
            if self.all:
                out[lo : lo + step] = piece.sum(axis=1, dtype=acc_dtype)
            else:
                x = np.empty((piece.shape[0], self.pixels.size), dtype=flat.dtype)
                self._into(piece, x)
                out[lo : lo + step] = x.sum(axis=1, dtype=acc_dtype)
        return out

    def chunk(self, flat: np.ndarray, valid: np.ndarray, pixel_sum: np.ndarray,
              totals: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Gathered frames (n, n_pix) and (with ``totals``) frame totals (n,) over the
        gathered pixels; adds the good frames of ``flat`` (n, H·W) to ``pixel_sum``."""
        n = flat.shape[0]
        x = np.empty((n, self.pixels.size), dtype=flat.dtype)
        sums = np.empty(n, dtype=np.float64) if totals else None
        acc_dtype = _sum_dtype(flat.dtype)
        acc = np.zeros(self.n_frame, dtype=acc_dtype)
        step = max(1, min(_PIECE // max(self.n_frame, 1), _U32_ROWS))
        rows = 0
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            piece, out = flat[lo:hi], x[lo:hi]
            self._into(piece, out)
            if sums is not None:
                sums[lo:hi] = out.sum(axis=1, dtype=acc_dtype if acc_dtype.kind != "u" else np.uint64)
            good = valid[lo:hi]
            if acc_dtype == np.uint32 and rows + (hi - lo) > _U32_ROWS:
                pixel_sum += acc  # flush before 16-bit counts could overflow 32 bits
                acc[:] = 0
                rows = 0
            if good.all():
                acc += np.add.reduce(piece, axis=0, dtype=acc_dtype)
            elif good.any():
                acc += np.add.reduce(piece[good], axis=0, dtype=acc_dtype)
            rows += hi - lo
        pixel_sum += acc
        return x, sums

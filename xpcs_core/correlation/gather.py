"""Per-chunk bookkeeping of the correlation pass, kept cheap next to the correlation itself.

For each chunk of frames ``(n, H·W)``: the correlated pixels gathered into a contiguous
``(n, n_pix)`` block (by copying runs of consecutive pixels when the pixels form few
runs, as rings of a q-map do; else ``np.take``), each frame's total over the correlated
pixels, and the per-pixel sum over the good frames (integers are summed in integers).
Work goes a few frames at a time so that each piece is still in cache for the next step;
:meth:`Gather.gather` reads those pieces itself (``read(lo, hi)``), so a chunk of raw
frames never has to be held whole.

Integers are summed exactly, so the pieces may be of any size; 8/16-bit counts go
through 16-bit sums where the piece's largest value shows they cannot overflow (several
times faster than widening every value). Floating-point sums keep the pieces of
:data:`_PIECE` values, so that they come out the same to the last bit whatever reads them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["Gather"]

#: elements per piece of floating-point frames (about 2 MB of float16.. 8 MB of float64)
_PIECE = 1 << 20
#: elements per piece of integer frames (8 MB of uint16: raw and gathered piece stay in cache)
_INT_PIECE = 1 << 22
#: frames of 16-bit counts a uint32 sum holds without overflow
_U32_ROWS = (2**32 - 1) // (2**16 - 1)
_SMALL = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.bool_))

Reader = Callable[[int, int], np.ndarray]


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

    def rows(self, dtype: np.dtype, totals_only: bool = False) -> int:
        """Frames per piece of :meth:`gather` (:meth:`totals` with ``totals_only``) for ``dtype``.

        Chunks cut into pieces of this many frames (from the chunk's start) are summed as
        the whole chunk is, bit for bit."""
        exact = np.dtype(dtype).kind in "iub"
        rows = max(1, (_INT_PIECE if exact else _PIECE) // max(self.n_frame, 1))
        return rows if totals_only else max(1, min(rows, _U32_ROWS))

    def _totals(self, piece: np.ndarray, out: np.ndarray, peak: int | None) -> None:
        """Totals of the gathered frames ``piece`` (m, n_pix) into ``out`` (m,) float64."""
        dtype = _sum_dtype(piece.dtype)
        if dtype.kind == "u":  # 8/16-bit: 32-bit sums when the largest value allows, else 64-bit
            fits = peak is not None and peak * piece.shape[1] <= 2**32 - 1
            dtype = np.dtype(np.uint32 if fits else np.uint64)
        out[...] = np.add.reduce(piece, axis=1, dtype=dtype)

    def totals(self, flat: np.ndarray) -> np.ndarray:
        """Frame totals (n,) over the gathered pixels, without keeping the gathered frames."""
        n = flat.shape[0]
        out = np.empty(n, dtype=np.float64)
        step = self.rows(flat.dtype, totals_only=True)
        small = flat.dtype in _SMALL
        for lo in range(0, n, step):
            piece = flat[lo : lo + step]
            peak = int(piece.max()) if small and piece.size else None
            if self.all:
                self._totals(piece, out[lo : lo + step], peak)
            else:
                x = np.empty((piece.shape[0], self.pixels.size), dtype=flat.dtype)
                self._into(piece, x)
                self._totals(x, out[lo : lo + step], peak)
        return out

    def gather(self, read: Reader, n: int, dtype: np.dtype, valid: np.ndarray, totals: bool = True,
               out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray]]:
        """Gather frames ``0 .. n-1`` that ``read(lo, hi)`` gives (``(hi - lo, H·W)`` of ``dtype``,
        pieces of :meth:`rows` frames; each may reuse the memory of the one before).

        Returns the gathered frames (n, n_pix) (in ``out[:n]`` when given, a new array
        else), with ``totals`` their totals (n,) over the gathered pixels, and the per-pixel
        sums of the good frames as arrays (H·W,) whose sum, added in order, is the sum over
        the frames (one array unless 32-bit sums of 16-bit counts had to be flushed)."""
        dtype = np.dtype(dtype)
        x = np.empty((n, self.pixels.size), dtype=dtype) if out is None else out[:n]
        sums = np.empty(n, dtype=np.float64) if totals else None
        acc_dtype = _sum_dtype(dtype)
        acc = np.zeros(self.n_frame, dtype=acc_dtype)
        parts: list[np.ndarray] = []
        step, small = self.rows(dtype), dtype in _SMALL
        rows = 0
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            piece, out = read(lo, hi), x[lo:hi]
            self._into(piece, out)
            peak = int(piece.max()) if small and piece.size else None
            if sums is not None:
                self._totals(out, sums[lo:hi], peak)
            good = valid[lo:hi]
            if acc_dtype == np.uint32 and rows + (hi - lo) > _U32_ROWS:
                parts.append(acc)  # flush before 16-bit counts could overflow 32 bits
                acc = np.zeros(self.n_frame, dtype=acc_dtype)
                rows = 0
            if good.any():
                self._add(acc, piece if good.all() else piece[good], peak)
            rows += hi - lo
        parts.append(acc)
        return x, sums, parts

    @staticmethod
    def _add(acc: np.ndarray, piece: np.ndarray, peak: int | None) -> None:
        """``acc += piece.sum(axis=0)``: in 16 bits first when ``peak`` shows it cannot overflow."""
        if peak is not None and peak * piece.shape[0] <= 0xFFFF:
            part = piece[0].astype(np.uint16)
            for row in piece[1:]:
                np.add(part, row, out=part)
            acc += part
        else:
            acc += np.add.reduce(piece, axis=0, dtype=acc.dtype)

    def chunk(self, flat: np.ndarray, valid: np.ndarray, pixel_sum: np.ndarray,
              totals: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Gathered frames (n, n_pix) and (with ``totals``) frame totals (n,) over the
        gathered pixels; adds the good frames of ``flat`` (n, H·W) to ``pixel_sum``."""
        x, sums, parts = self.gather(lambda lo, hi: flat[lo:hi], flat.shape[0], flat.dtype, valid, totals)
        for part in parts:
            pixel_sum += part
        return x, sums

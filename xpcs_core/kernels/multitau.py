"""Multi-tau correlation (docs/physics.md, "Multi-tau correlation"): the lag schedule, the
streaming accumulator contract, and a whole-block reference kernel for any array namespace.

The reference kernel takes a block of frames ``(n_frames, n_pix)``: all frames of a chunk of pixels.
Loops run over levels and lags only (a few dozen), never over pixels or frames, so the
jax backend can jit them for a given block shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np

FIRST_LEVEL_LAGS = tuple(range(1, 9))
LEVEL_LAGS = (5, 6, 7, 8)


def multitau_delays(n_frames: int, n_levels: int | None = None) -> np.ndarray:
    """Frame lags 1..8, then m·2^L for m = 5..8 while lag < (n_frames // 2^L)·2^L."""
    delays = []
    level = 0
    while n_levels is None or level < n_levels:
        n_level = n_frames >> level
        lags = [m for m in (FIRST_LEVEL_LAGS if level == 0 else LEVEL_LAGS) if m < n_level]
        if not lags:
            break
        delays += [m << level for m in lags]
        level += 1
    return np.asarray(delays, dtype=np.int64)


@dataclass(frozen=True)
class MultitauOptions:
    """How a streaming multi-tau accumulator computes.

    ``path``: ``"auto"`` (the accumulator picks dense or sparse from the count rate of
    the first block it sees), ``"dense"`` or ``"sparse"`` (sparse: cost scales with the
    photons, not the pixels; higher levels, where frames are averaged and dense, may
    switch to dense). ``n_levels``: None = every level the frame count allows.
    ``sparse_threshold``: mean counts per pixel per frame below which auto takes sparse.
    """

    path: Literal["auto", "dense", "sparse"] = "auto"
    n_levels: int | None = None
    sparse_threshold: float = 0.2


class MultitauSums(NamedTuple):
    """What an accumulator finishes into: per-pixel averages for every lag.

    ``delays`` (n_tau,) int64 frame lags (only those with at least one valid pair);
    ``G2``, ``IP``, ``IF`` (n_tau, n_pixels) float64: ⟨I(t)I(t+τ)⟩, ⟨I(t)⟩, ⟨I(t+τ)⟩ over
    the valid pairs; ``n_pairs`` (n_tau,) int64: the number of valid pairs of each lag;
    ``path``: the path that was used (``"dense"`` or ``"sparse"``).
    """

    delays: np.ndarray
    G2: np.ndarray
    IP: np.ndarray
    IF: np.ndarray
    n_pairs: np.ndarray
    path: str


class MultitauAccumulator(Protocol):
    """Streaming multi-tau: blocks of frames in time order in, per-pixel sums out.

    Memory is bounded by one block plus the per-level buffers and per-lag sums: it does
    not grow with the number of frames.
    """

    n_pixels: int
    frames_seen: int

    def update(self, frames: Any, valid: np.ndarray | None = None) -> None:
        """Add the next ``(n_chunk, n_pixels)`` block (any real dtype; NumPy or the backend's own).

        ``valid``: bool (n_chunk,), False = bad frame (it joins no pair and no average;
        a level-L frame is the mean of its good constituents, bad when none is good).
        """

    def finish(self) -> MultitauSums:
        """Per-pixel averages of every lag seen so far, as NumPy float64 arrays."""


def multitau(xp: Any, frames: Any, n_levels: int | None = None) -> dict[str, Any]:
    """Per-pixel ⟨I(t)I(t+τ)⟩, ⟨I(t)⟩, ⟨I(t+τ)⟩ for every multi-tau lag.

    Level 0 uses the raw frames; level L ≥ 1 uses frames averaged in pairs L times
    (an odd last frame is dropped) and lags 5..8 in level-L frames.
    Returns ``delays`` (NumPy int64) and ``G2``, ``IP``, ``IF`` of shape (n_tau, n_pix).
    """
    data = frames
    g2, ip, i_f = [], [], []
    level = 0
    while n_levels is None or level < n_levels:
        n = data.shape[0]
        lags = [m for m in (FIRST_LEVEL_LAGS if level == 0 else LEVEL_LAGS) if m < n]
        if not lags:
            break
        for m in lags:
            early, late = data[: n - m], data[m:]
            g2.append(xp.mean(early * late, axis=0))
            ip.append(xp.mean(early, axis=0))
            i_f.append(xp.mean(late, axis=0))
        half = n // 2
        data = 0.5 * (data[0 : 2 * half : 2] + data[1 : 2 * half : 2])
        level += 1
    return {
        "delays": multitau_delays(frames.shape[0], n_levels),
        "G2": xp.stack(g2),
        "IP": xp.stack(ip),
        "IF": xp.stack(i_f),
    }


# ------------------------------------------------------------------ streaming helpers
def level_lags(level: int) -> tuple[int, ...]:
    """Lags of one level, in level-``level`` frames: 1..8 at level 0, 5..8 above."""
    return FIRST_LEVEL_LAGS if level == 0 else LEVEL_LAGS


def level_count(n_frames: int, n_levels: int | None = None) -> int:
    """Number of levels that have at least one lag for ``n_frames`` frames."""
    level = 0
    while n_levels is None or level < n_levels:
        if not [m for m in level_lags(level) if m < n_frames >> level]:
            break
        level += 1
    return level


def lag_rows(n_levels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row layout of the per-lag sums for ``n_levels`` levels (every lag, exist or not).

    Returns ``(level, m, delay)`` int64 arrays, one entry per row: the level, the lag in
    level frames and the lag in raw frames (``m << level``).
    """
    rows = [(lv, m) for lv in range(n_levels) for m in level_lags(lv)]
    level = np.array([r[0] for r in rows], dtype=np.int64)
    m = np.array([r[1] for r in rows], dtype=np.int64)
    return level, m, m << level


def check_setup(n_pixels: int, n_frames: int, options: Any) -> None:
    """Raise XpcsInputError for impossible accumulator arguments."""
    from xpcs_core.errors import XpcsInputError

    if int(n_pixels) < 1 or int(n_frames) < 2:
        raise XpcsInputError(f"multitau: need n_pixels >= 1 and n_frames >= 2, got {n_pixels}, {n_frames}")
    if not isinstance(options, MultitauOptions):
        raise XpcsInputError(f"multitau: options must be MultitauOptions, got {type(options).__name__}")
    if options.path not in ("auto", "dense", "sparse"):
        raise XpcsInputError(f"multitau: path must be auto, dense or sparse, got {options.path!r}")
    if options.n_levels is not None and options.n_levels < 1:
        raise XpcsInputError(f"multitau: n_levels must be >= 1 or None, got {options.n_levels}")


def check_block(frames: Any, valid: Any, n_pixels: int, frames_seen: int, n_frames: int) -> np.ndarray:
    """Validate one ``update`` block; return ``valid`` as a bool NumPy array (n_chunk,)."""
    from xpcs_core.errors import XpcsInputError

    shape = tuple(frames.shape)
    if len(shape) != 2 or shape[1] != n_pixels:
        raise XpcsInputError(f"multitau: a block must have shape (n_chunk, {n_pixels}), got {shape}")
    if frames_seen + shape[0] > n_frames:
        raise XpcsInputError(
            f"multitau: {frames_seen + shape[0]} frames given, the accumulator was made for {n_frames}")
    if valid is None:
        return np.ones(shape[0], dtype=bool)
    valid = np.asarray(valid)
    if valid.shape != (shape[0],) or valid.dtype != np.bool_:
        raise XpcsInputError(f"multitau: valid must be bool of shape ({shape[0]},), got "
                             f"{valid.dtype} {valid.shape}")
    return valid


def canonical_dtype(dtype: Any) -> np.dtype:
    """The dtype a compiled accumulator takes a block in: uint16 (from 8/16-bit unsigned),
    uint32, else float64 (exact for every integer below 2**53). Fewer dtypes, fewer compiles."""
    dtype = np.dtype(dtype)
    if dtype in (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.bool_)):
        return np.dtype(np.uint16)
    if dtype == np.dtype(np.uint32):
        return dtype
    return np.dtype(np.float64)


def finish_sums(delays: np.ndarray, n_pairs: np.ndarray, g2: np.ndarray, ip: np.ndarray,
                i_f: np.ndarray, path: str) -> MultitauSums:
    """Divide per-lag sums (NumPy, one row per lag) by their valid-pair counts; drop empty lags."""
    keep = n_pairs > 0
    div = n_pairs[keep].astype(np.float64)[:, None]
    return MultitauSums(delays[keep].astype(np.int64), g2[keep] / div, ip[keep] / div,
                        i_f[keep] / div, n_pairs[keep].astype(np.int64), path)


def _concat(xp: Any, arrays: list[Any]) -> Any:
    fn = getattr(xp, "concat", None) or xp.concatenate
    return fn(arrays, axis=0)


class StreamingMultitau:
    """Streaming multi-tau for any Array-API namespace ``xp`` (docs/physics.md "Multi-tau correlation").

    State per level: the last 8 level frames (bad ones stored as zeros) with their
    validity, the odd frame waiting for its pair partner, and per lag the sums of
    I(t)I(t+m), I(t), I(t+m) over valid pairs and their count. Memory:
    (3·n_tau + 9·n_levels)·n_pixels float64 plus one block. Each block is processed
    level by level with vectorised sums over its frames, so the cost per call is a few
    array operations per lag. This is the cupy path and the reference of the others.
    """

    def __init__(self, xp: Any, n_pixels: int, n_frames: int, options: MultitauOptions,
                 to_numpy: Any = np.asarray) -> None:
        check_setup(n_pixels, n_frames, options)
        self.xp, self.n_pixels, self.n_frames = xp, int(n_pixels), int(n_frames)
        self.frames_seen = 0
        self._to_numpy = to_numpy
        self.n_levels = level_count(self.n_frames, options.n_levels)
        levels, _, self._delays = lag_rows(self.n_levels)
        self._first_row = [int(np.searchsorted(levels, lv)) for lv in range(self.n_levels)]
        zeros = xp.zeros((self._delays.size, self.n_pixels), dtype=xp.float64)
        self._g2, self._ip, self._if = zeros, xp.zeros_like(zeros), xp.zeros_like(zeros)
        self._n_pairs = np.zeros(self._delays.size, dtype=np.int64)
        empty = xp.zeros((0, self.n_pixels), dtype=xp.float64)
        self._ring = [empty] * self.n_levels
        self._ring_w = [np.zeros(0)] * self.n_levels
        self._pending: list[tuple[Any, np.ndarray] | None] = [None] * self.n_levels

    def update(self, frames: Any, valid: np.ndarray | None = None) -> None:
        xp = self.xp
        w = check_block(frames, valid, self.n_pixels, self.frames_seen, self.n_frames)
        self.frames_seen += int(w.size)
        block = xp.asarray(frames)  # on a GPU: moved in its own dtype, cast there
        if block.dtype != xp.float64:
            block = block.astype(xp.float64)
        if not w.all():
            block = xp.where(xp.asarray(w)[:, None], block, 0.0)
        weights = w.astype(np.float64)
        for level in range(self.n_levels):
            if weights.size == 0:
                break
            self._add_level(level, block, weights)
            if level + 1 < self.n_levels:
                block, weights = self._pair_up(level, block, weights)

    def _add_level(self, level: int, block: Any, w: np.ndarray) -> None:
        xp = self.xp
        ext = _concat(xp, [self._ring[level], block])
        w_ext = np.concatenate([self._ring_w[level], w])
        r, end = self._ring_w[level].size, w_ext.size
        for j, m in enumerate(level_lags(level)):
            lo = max(r, m)
            if lo < end:
                self._n_pairs[self._first_row[level] + j] += int(w_ext[lo - m : end - m] @ w_ext[lo:end])
        self._lag_sums(level, ext, w_ext, r)
        self._ring[level], self._ring_w[level] = ext[-8:], w_ext[-8:]

    def _lag_sums(self, level: int, ext: Any, w_ext: np.ndarray, r: int) -> None:
        """Add to the sums of every lag of ``level`` the pairs whose late frame is new
        (index >= ``r`` of ``ext``: the ring's frames, then the block's; bad ones zero)."""
        xp = self.xp
        end = w_ext.size
        for j, m in enumerate(level_lags(level)):
            lo = max(r, m)
            if lo >= end:
                continue
            row = self._first_row[level] + j
            early, late = ext[lo - m : end - m], ext[lo:end]
            self._g2[row] += xp.sum(early * late, axis=0)
            self._ip[row] += xp.asarray(w_ext[lo:end]) @ early
            self._if[row] += xp.asarray(w_ext[lo - m : end - m]) @ late

    def _pair_up(self, level: int, block: Any, w: np.ndarray) -> tuple[Any, np.ndarray]:
        """Level-(L+1) frames: the mean of the valid frames of each consecutive pair."""
        xp = self.xp
        pending = self._pending[level]
        if pending is not None:
            block, w = _concat(xp, [pending[0], block]), np.concatenate([pending[1], w])
        n_pairs = w.size // 2
        # a copy: ``block`` may be the caller's array, which it may reuse for the next block
        self._pending[level] = (block[2 * n_pairs :] + 0.0, w[2 * n_pairs :]) if w.size % 2 else None
        count = w[0 : 2 * n_pairs : 2] + w[1 : 2 * n_pairs : 2]
        total = block[0 : 2 * n_pairs : 2] + block[1 : 2 * n_pairs : 2]
        scale = xp.asarray(1.0 / np.maximum(count, 1.0))
        return total * scale[:, None], (count > 0).astype(np.float64)

    def finish(self) -> MultitauSums:
        conv = self._to_numpy
        return finish_sums(self._delays, self._n_pairs, conv(self._g2), conv(self._ip),
                           conv(self._if), "dense")

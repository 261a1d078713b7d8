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

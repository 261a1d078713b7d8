"""Multi-tau and two-time correlation kernels (PHYSICS.md), one implementation for every backend.

Both take a block of frames ``(n_frames, n_pix)``: all frames of a chunk of pixels.
Loops run over levels and lags only (a few dozen), never over pixels or frames, so the
jax backend can jit them for a given block shape.
"""

from __future__ import annotations

from typing import Any

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


def twotime(xp: Any, frames: Any) -> Any:
    """C2(t1, t2) = ⟨I(t1)I(t2)⟩_p / (⟨I(t1)⟩_p ⟨I(t2)⟩_p): one matrix product."""
    n_pix = frames.shape[1]
    mean_t = xp.mean(frames, axis=1)
    return (frames @ frames.T) / n_pix / (mean_t[:, None] * mean_t[None, :])

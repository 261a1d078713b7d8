"""Two-time correlation kernel (docs/physics.md, "Two-time correlation"), one implementation for every backend."""

from __future__ import annotations

from typing import Any

import numpy as np


def twotime(xp: Any, frames: Any) -> Any:
    """C2(t1, t2) = ⟨I(t1)I(t2)⟩_p / (⟨I(t1)⟩_p ⟨I(t2)⟩_p): one matrix product.

    ``frames``: (n_frames, n_pix) of one dynamic bin, float.
    """
    n_pix = frames.shape[1]
    mean_t = xp.mean(frames, axis=1)
    return (frames @ frames.T) / n_pix / (mean_t[:, None] * mean_t[None, :])


def diagonal_means(c2: np.ndarray) -> np.ndarray:
    """(n,) mean of each diagonal |t1 - t2| = k of a symmetric (n, n) map, ignoring NaN."""
    n = c2.shape[0]
    out = np.full(n, np.nan)
    for k in range(n):
        diag = np.diagonal(c2, offset=k)
        good = diag[np.isfinite(diag)]
        if good.size:
            out[k] = good.mean(dtype=np.float64)
    return out

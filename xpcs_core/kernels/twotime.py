"""Two-time correlation kernel (docs/physics.md, "Two-time correlation"), one implementation for every backend."""

from __future__ import annotations

from typing import Any


def twotime(xp: Any, frames: Any) -> Any:
    """C2(t1, t2) = ⟨I(t1)I(t2)⟩_p / (⟨I(t1)⟩_p ⟨I(t2)⟩_p): one matrix product.

    ``frames``: (n_frames, n_pix) of one dynamic bin, float.
    """
    n_pix = frames.shape[1]
    mean_t = xp.mean(frames, axis=1)
    return (frames @ frames.T) / n_pix / (mean_t[:, None] * mean_t[None, :])

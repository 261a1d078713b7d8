"""Shape buckets: problems of other sizes reuse compiled programs.

A jitted program is compiled per array shape. The fits pad their bins and delays to a
few sizes, so that files with another number of q-bins or delays run the program
compiled for an earlier one, in this process and, through jax's persistent compilation
cache, in the next (docs/architecture.md, "Automatic choice"). Padded delays are masked
out; padded bins repeat the first bin and are dropped from the results.
"""

from __future__ import annotations

import numpy as np

#: arrays (n_bins, n_t) along the delays, and what their padded delays hold
DELAY_FILL = {"y": 1.0, "sigma": 1.0, "mask": False}


def power_bucket(n: int, smallest: int) -> int:
    """``n`` rounded up to a power of two, at least ``smallest``."""
    return max(smallest, 1 << max(n - 1, 0).bit_length())


def step_bucket(n: int, step: int) -> int:
    """``n`` rounded up to 1, 2, 4, ... below ``step``, then to a multiple of ``step``
    (padding costs at most ``step - 1`` rows, or doubles a tiny problem)."""
    return power_bucket(n, 1) if n <= step else -(-n // step) * step


def padded(t: np.ndarray, per_bin: dict[str, np.ndarray], n_bins: int,
           n_t: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``t`` padded with its last delay to ``n_t``; every array of ``per_bin`` (one row per
    bin) padded to ``n_bins`` rows with copies of row 0, and those of :data:`DELAY_FILL`
    along the delays to ``n_t`` with their fill (a padded delay is masked out)."""
    t = np.asarray(t)
    out_t = np.concatenate([t, np.full(n_t - t.size, t[-1])])
    out = {}
    for key, arr in per_bin.items():
        arr = np.asarray(arr)
        if key in DELAY_FILL:
            arr = np.pad(arr, ((0, 0), (0, n_t - t.size)), constant_values=DELAY_FILL[key])
        rows = np.r_[np.arange(arr.shape[0]), np.zeros(n_bins - arr.shape[0], dtype=int)]
        out[key] = arr[rows]
    return out_t, out

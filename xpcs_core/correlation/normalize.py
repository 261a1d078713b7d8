"""From per-pixel sums to what result files hold (docs/physics.md, "Multi-tau correlation",
"Two-time correlation").

Multi-tau, per static bin s: ``g2_s = <G2>_s / (<IP>_s <IF>_s)``; the g2 of a dynamic bin
is the mean of its static bins' g2; ``g2_err`` is the standard deviation over the
pixels of the dynamic bin of the per-pixel ``G2 / (IP IF)``, divided by
``sqrt(npix)`` (at a lag with a single valid pair, where that ratio is 1 everywhere, the
spread of the static bins' g2 over sqrt(their number) instead). Pixels whose sums are
not finite (no data) are left out. Two-time: g2
from the mean of each diagonal of C2, also per time segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PixelBins", "normalize_multitau", "segment_bounds"]


def _bin_sum(labels0: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sums of ``weights`` per 0-based label (n,)."""
    return np.bincount(labels0, weights=weights, minlength=n)[:n]


@dataclass
class PixelBins:
    """The correlated pixels (flat indices into H·W, sorted) and their bins.

    ``static``/``dynamic``: labels (1-based) of each correlated pixel;
    ``static_to_dynamic`` (n_static,) the dynamic label of each static label (0 = empty).
    """

    pixels: np.ndarray
    static: np.ndarray
    dynamic: np.ndarray
    n_static: int
    n_dynamic: int
    static_to_dynamic: np.ndarray

    @classmethod
    def from_maps(cls, static_map: np.ndarray, dynamic_map: np.ndarray, mask: np.ndarray | None,
                  static_to_dynamic: np.ndarray, n_static: int, n_dynamic: int) -> PixelBins:
        """Pixels that are unmasked and in a static bin (hence in a dynamic bin)."""
        s = np.asarray(static_map).reshape(-1).astype(np.int64)
        d = np.asarray(dynamic_map).reshape(-1).astype(np.int64)
        used = (s > 0) & (d > 0)
        if mask is not None:
            used &= np.asarray(mask).reshape(-1) != 0
        pixels = np.flatnonzero(used)
        return cls(pixels, s[pixels], d[pixels], int(n_static), int(n_dynamic),
                   np.asarray(static_to_dynamic, dtype=np.int64))

    @classmethod
    def from_partition(cls, partition: Any) -> PixelBins:
        """The correlated pixels of a :class:`~xpcs_core.partition.Partition`."""
        return cls.from_maps(partition.static.labels, partition.dynamic.labels, partition.mask,
                             partition.static_to_dynamic, partition.static.n_labels,
                             partition.dynamic.n_labels)

    def subset(self, keep: np.ndarray) -> PixelBins:
        """Only the pixels where ``keep`` (bool, one per pixel) is True."""
        return PixelBins(self.pixels[keep], self.static[keep], self.dynamic[keep],
                         self.n_static, self.n_dynamic, self.static_to_dynamic)

    def static_means(self, values: np.ndarray) -> np.ndarray:
        """Mean over the pixels of each static bin of ``values`` (..., n_pix); NaN when empty."""
        flat = np.asarray(values, dtype=np.float64).reshape(-1, self.pixels.size)
        s0 = self.static - 1
        counts = np.bincount(s0, minlength=self.n_static)[: self.n_static]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.stack([_bin_sum(s0, row, self.n_static) for row in flat]) / counts
        return out.reshape(*np.shape(values)[:-1], self.n_static)


def normalize_multitau(G2: np.ndarray, IP: np.ndarray, IF: np.ndarray,
                       bins: PixelBins) -> tuple[np.ndarray, np.ndarray]:
    """(g2, g2_err), each (n_tau, n_dynamic) float64, from per-pixel (n_tau, n_pix) sums.

    One lag at a time (memory of a few pixel vectors, whatever the number of lags).
    """
    n_tau = np.shape(G2)[0]
    ks, kd = bins.n_static, bins.n_dynamic
    s0, d0 = bins.static - 1, bins.dynamic - 1
    s2d = bins.static_to_dynamic[:ks]
    in_dyn = s2d > 0
    sd0 = np.where(in_dyn, s2d - 1, 0)
    g2 = np.full((n_tau, kd), np.nan)
    err = np.full((n_tau, kd), np.nan)
    for i in range(n_tau):
        g, p, f = (np.asarray(x[i], dtype=np.float64) for x in (G2, IP, IF))
        ok = np.isfinite(g) & np.isfinite(p) & np.isfinite(f)
        w = ok.astype(np.float64)
        count = _bin_sum(s0, w, ks)
        with np.errstate(invalid="ignore", divide="ignore"):
            g2_s = (_bin_sum(s0, np.where(ok, g, 0.0), ks) * count
                    / (_bin_sum(s0, np.where(ok, p, 0.0), ks) * _bin_sum(s0, np.where(ok, f, 0.0), ks)))
            have = np.isfinite(g2_s) & in_dyn
            gs = np.where(have, g2_s, 0.0)
            ns = _bin_sum(sd0, have.astype(np.float64), kd)
            g2[i] = _bin_sum(sd0, gs, kd) / ns
            ratio = g / (p * f)
            fin = np.isfinite(ratio)
            r = np.where(fin, ratio, 0.0)
            n = _bin_sum(d0, fin.astype(np.float64), kd)
            mean = _bin_sum(d0, r, kd) / n
            var = np.maximum(_bin_sum(d0, r * r, kd) / n - mean * mean, 0.0)
            e = np.sqrt(var / n)
            e[n < 2] = np.nan
            # a lag with a single valid pair has G2/(IP IF) = 1 at every pixel: no spread to
            # measure. Its error is then the spread of the static bins' g2 over sqrt(their number).
            flat = var <= 0
            if flat.any():
                spread = np.sqrt(np.maximum(_bin_sum(sd0, gs * gs, kd) / ns - g2[i] ** 2, 0.0) / ns)
                spread[(ns < 2) | ~(spread > 0)] = np.nan
                e[flat] = spread[flat]
        err[i] = e
    g2[~np.isfinite(g2)] = np.nan
    return g2, err


def align_delays(delays: np.ndarray, values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (one per lag of ``delays``) placed at the lags ``target``; NaN rows
    for target lags that ``delays`` lacks."""
    out = np.full((target.size, *values.shape[1:]), np.nan)
    pos = {int(t): i for i, t in enumerate(target)}
    for i, lag in enumerate(np.asarray(delays).tolist()):
        if int(lag) in pos:
            out[pos[int(lag)]] = values[i]
    return out


def segment_bounds(n_frames: int, n_segments: int) -> list[tuple[int, int]]:
    """N equal consecutive parts of ``n_frames`` (``n_frames // N`` frames each; a
    remainder of fewer than N frames at the end belongs to no segment)."""
    length = n_frames // n_segments
    return [(k * length, (k + 1) * length) for k in range(n_segments)]

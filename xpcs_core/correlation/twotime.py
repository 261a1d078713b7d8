"""Two-time accumulation (docs/physics.md, "Two-time correlation"): frames x pixels of each
chosen dynamic bin, kept in a float32 array, or in an ``np.memmap`` on disk when it would
exceed the memory budget; then one C2 map per bin through the ``xpcs_twotime`` hook.

Each pixel is divided by the time mean of its static bin before C2 is formed (so that
the q dependence of the intensity inside a dynamic bin does not weigh pixels). Bad
frames join no pair: their rows and columns of C2 are NaN.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from xpcs_core.correlation.normalize import PixelBins
from xpcs_core.errors import XpcsInputError

__all__ = ["TwotimeStore", "XpcsResourceWarning", "default_memory_budget"]


class XpcsResourceWarning(UserWarning):
    """A job needs more memory than its budget (it goes on, on disk or at the risk of swapping)."""


def default_memory_budget() -> int:
    """A quarter of the physical memory (4 GiB when it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4)
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.2f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


class TwotimeStore:
    """Frames x pixels of the dynamic bins ``labels``, filled block by block in time order."""

    def __init__(self, bins: PixelBins, labels: list[int], n_frames: int, *,
                 budget: int | None = None, scratch: str | os.PathLike[str] | None = None) -> None:
        present = set(np.unique(bins.dynamic).tolist())
        missing = [b for b in labels if b not in present]
        if missing:
            raise XpcsInputError(
                f"bins: dynamic bin(s) {', '.join(map(str, missing))} hold no correlated pixel "
                f"(labels with pixels: 1..{bins.n_dynamic}, {len(present)} non-empty)"
            )
        self.labels = list(labels)
        self.n_frames = n_frames
        self.columns = [np.flatnonzero(bins.dynamic == b) for b in self.labels]
        self.static = [bins.static[c] for c in self.columns]
        self.valid = np.zeros(n_frames, dtype=bool)
        self.budget = default_memory_budget() if budget is None else int(budget)
        self.warnings: list[str] = []
        x_bytes = sum(n_frames * c.size * 4 for c in self.columns)
        c2_bytes = n_frames * n_frames * (8 + 4)  # the hook's float64 map + the stored float32 one
        if c2_bytes > self.budget:
            self._warn(f"two-time: each C2 map of {n_frames} x {n_frames} frames needs "
                       f"{_gib(c2_bytes)}, over the memory budget of {_gib(self.budget)}; "
                       "use --stride/--avg or --frames to shorten it")
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        if x_bytes > self.budget:
            self._dir = tempfile.TemporaryDirectory(prefix="xpcs-twotime-", dir=scratch)
            self._warn(f"two-time: frames x pixels of {len(self.labels)} bin(s) need {_gib(x_bytes)}, "
                       f"over the memory budget of {_gib(self.budget)}; kept on disk in {self._dir.name}")
            self.data = [np.lib.format.open_memmap(Path(self._dir.name) / f"bin{b}.npy", mode="w+",
                                                   dtype=np.float32, shape=(n_frames, c.size))
                         for b, c in zip(self.labels, self.columns, strict=True)]
        else:
            self.data = [np.zeros((n_frames, c.size), dtype=np.float32) for c in self.columns]

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        warnings.warn(message, XpcsResourceWarning, stacklevel=3)

    def add(self, start: int, frames: np.ndarray, valid: np.ndarray) -> None:
        """Store ``frames`` (n, n_pix of the correlated pixels) as frames ``start .. start+n-1``."""
        stop = min(start + frames.shape[0], self.n_frames)
        n = stop - start
        if n <= 0:
            return
        self.valid[start:stop] = valid[:n]
        for store, cols in zip(self.data, self.columns, strict=True):
            store[start:stop] = frames[:n, cols]

    def _normalized(self, k: int) -> np.ndarray:
        """Good frames of bin k, each pixel divided by its static bin's time mean (float64)."""
        x = np.asarray(self.data[k][self.valid], dtype=np.float64)
        static = self.static[k]
        labels, inverse = np.unique(static, return_inverse=True)
        pixel_mean = x.mean(axis=0)
        bin_mean = np.bincount(inverse, weights=pixel_mean) / np.bincount(inverse)
        scale = bin_mean[inverse]
        scale[scale <= 0] = 1.0  # a static bin with no photon: leave its pixels as they are
        return x / scale

    def finish(self, backend: str | None, cancel: Any = None) -> tuple[list[np.ndarray], Any]:
        """C2 (n, n) float32 of each bin (NaN rows/columns at bad frames) and the provenance."""
        from xpcs_core.backends import call, get_backend
        from xpcs_core.errors import XpcsCancelled

        maps, provenance = [], None
        good = np.flatnonzero(self.valid)
        for k in range(len(self.labels)):
            if cancel is not None and cancel.is_set():
                raise XpcsCancelled("correlation cancelled")
            with np.errstate(invalid="ignore", divide="ignore"):  # a frame without photons: NaN row
                frames = self._normalized(k)
                c2_good, provenance = call("xpcs_twotime", backend=backend, frames=frames,
                                           workload=float(frames.shape[0]) ** 2 * frames.shape[1])
            c2_good = np.asarray(get_backend(provenance.backend).to_numpy(c2_good))
            full = np.full((self.n_frames, self.n_frames), np.nan, dtype=np.float32)
            full[np.ix_(good, good)] = c2_good
            maps.append(full)
        return maps, provenance

    def close(self) -> None:
        """Drop the arrays and delete the on-disk copies."""
        self.data = []
        if self._dir is not None:
            with contextlib.suppress(OSError):
                self._dir.cleanup()
            self._dir = None

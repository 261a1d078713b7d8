"""Per-bin sums and means of an image or a stack of frames, as a sparse matrix product.

The label map defines a (K, N) 0/1 matrix S (row k-1 selects the pixels of label k);
the per-bin sums of a (F, N) stack X are (S · Xᵀ)ᵀ. The pixel axis is processed in
chunks: each chunk of Xᵀ is made contiguous in float64 (small enough to stay in cache
on a CPU, the whole array on a GPU) and multiplied by the chunk's columns of S, stored
CSC so that a chunk is just a slice of ``indptr``. Sums accumulate in float64, so the
result does not depend on the input dtype's precision.

Written once for NumPy + ``scipy.sparse`` and CuPy + ``cupyx.scipy.sparse``: pass the
array namespace ``xp`` and the matching ``sparse`` module.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np


class BinnedMean(NamedTuple):
    """What ``xpcs_binned_mean`` returns: ``means`` (..., K) float64 (NaN for an empty
    label) and ``counts`` (K,) int64 pixels per label (arrays of the backend)."""

    means: Any
    counts: Any


def _private_csc_matvecs() -> Any:
    """scipy's compiled CSC product (a private routine), if it is there and still computes
    ``y += A @ X`` as this module calls it; else None, and the public API is used."""
    try:
        from scipy.sparse._sparsetools import csc_matvecs
    except ImportError:  # pragma: no cover - a future scipy without it
        return None
    # self-test: A = [[1, 0, 2], [0, 3, 0]] (CSC), X (3 x 2); y = A @ X
    indptr = np.array([0, 1, 2, 3], dtype=np.int32)
    indices = np.array([0, 1, 0], dtype=np.int32)
    values = np.array([1.0, 3.0, 2.0])
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = np.zeros((2, 2))
    try:
        csc_matvecs(2, 3, 2, indptr, indices, values, x.reshape(-1), y.reshape(-1))
    except Exception:  # pragma: no cover - signature changed
        return None
    return csc_matvecs if np.array_equal(y, [[11.0, 14.0], [9.0, 12.0]]) else None


_np_csc_matvecs = _private_csc_matvecs()


class LabelMatrix:
    """The CSC structure of the (K, N) selection matrix of a flat label array.

    ``labels``: (N,) ints, 0 = unused, 1..K. Column j holds a single 1 at row
    ``labels[j] - 1`` (none when the label is 0).
    """

    def __init__(self, xp: Any, labels: Any, n_labels: int) -> None:
        self.xp = xp
        self.n_labels = int(n_labels)
        self.n_pixels = int(labels.shape[0])
        used = labels > 0
        self.indptr = xp.zeros(self.n_pixels + 1, dtype=xp.int32)
        self.indptr[1:] = xp.cumsum(used.astype(xp.int32))
        self.indices = (labels[used] - 1).astype(xp.int32)
        self.values = xp.ones(self.indices.shape[0], dtype=xp.float64)

    def counts(self) -> Any:
        """(K,) int64 pixels per label."""
        xp = self.xp
        return xp.bincount(self.indices, minlength=self.n_labels).astype(xp.int64)

    def column_block(self, sparse: Any, start: int, stop: int) -> Any:
        """Columns ``start:stop`` of S as a ``sparse.csc_matrix`` (K, stop - start)."""
        p0, p1 = int(self.indptr[start]), int(self.indptr[stop])
        return sparse.csc_matrix(
            (self.values[p0:p1], self.indices[p0:p1], self.indptr[start : stop + 1] - p0),
            shape=(self.n_labels, stop - start),
        )


def _direct_sums(data: Any, matrix: LabelMatrix, starts: list[int], chunk: int) -> Any:
    """NumPy: (K, F) sums over the chunks beginning at ``starts`` (one worker's share)."""
    import numpy as np

    n_frames, n_pix = data.shape
    acc = np.zeros((matrix.n_labels, n_frames), dtype=np.float64)
    block = np.empty((chunk, n_frames), dtype=np.float64)
    for start in starts:
        stop = min(n_pix, start + chunk)
        view = block[: stop - start]
        view[...] = data[:, start:stop].T  # transpose + cast, in cache
        p0, p1 = int(matrix.indptr[start]), int(matrix.indptr[stop])
        _np_csc_matvecs(
            matrix.n_labels, stop - start, n_frames,
            matrix.indptr[start : stop + 1] - p0, matrix.indices[p0:p1],
            matrix.values[p0:p1], view.reshape(-1), acc.reshape(-1),
        )
    return acc


def worker_count(work: int) -> int:
    """Threads for a NumPy product of ``work`` elements: up to 8 cores, one if small."""
    if work < (1 << 22):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def binned_sums(xp: Any, sparse: Any, data: Any, matrix: LabelMatrix,
                chunk: int | None = None, direct: bool = False) -> Any:
    """(F, K) float64 sums over the pixels of each label of a (F, N) stack ``data``.

    ``chunk`` pixels are processed at a time (``None``: all at once, best on a GPU).
    ``direct`` (NumPy only) calls scipy's compiled CSC product on reused buffers instead
    of building a ``csc_matrix`` per chunk, and spreads the chunks over threads (the
    product and the copies release the GIL); the arithmetic is the same.
    """
    n_frames, n_pix = data.shape
    if n_pix != matrix.n_pixels:
        raise ValueError(f"data has {n_pix} pixels, labels {matrix.n_pixels}")
    chunk = n_pix if not chunk else int(chunk)
    starts = list(range(0, n_pix, max(chunk, 1)))
    if direct and xp.__name__ == "numpy" and _np_csc_matvecs is not None:
        threads = min(worker_count(n_frames * n_pix), len(starts))
        if threads == 1:
            return _direct_sums(data, matrix, starts, chunk).T
        shares = [starts[i * len(starts) // threads : (i + 1) * len(starts) // threads]
                  for i in range(threads)]
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(lambda share: _direct_sums(data, matrix, share, chunk), shares))
        return sum(parts[1:], parts[0]).T
    acc = xp.zeros((matrix.n_labels, n_frames), dtype=xp.float64)
    for start in starts:
        stop = min(n_pix, start + chunk)
        cols = xp.asarray(data[:, start:stop].T, dtype=xp.float64)
        acc += matrix.column_block(sparse, start, stop) @ cols
    return acc.T


def means_from_sums(xp: Any, sums: Any, counts: Any) -> Any:
    """``sums / counts`` along the last axis; NaN where a label has no pixel."""
    safe = xp.where(counts > 0, counts, 1).astype(xp.float64)
    return xp.where(counts > 0, sums / safe, xp.nan)


def binned_mean(xp: Any, sparse: Any, data: Any, labels: Any, n_labels: int,
                chunk: int | None = None, direct: bool = False) -> BinnedMean:
    """Hook body: the :class:`BinnedMean` of ``data`` (..., *labels.shape)."""
    labels = xp.asarray(labels)
    data = xp.asarray(data)
    lead = tuple(data.shape[: data.ndim - labels.ndim])
    matrix = LabelMatrix(xp, labels.reshape(-1), n_labels)
    sums = binned_sums(xp, sparse, data.reshape(-1, labels.size), matrix, chunk=chunk, direct=direct)
    counts = matrix.counts()
    return BinnedMean(means_from_sums(xp, sums, counts).reshape(*lead, n_labels), counts)

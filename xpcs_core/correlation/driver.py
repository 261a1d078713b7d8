"""The correlation job (docs/physics.md, "Multi-tau correlation", "Two-time correlation").

One pass over the selected frames, a chunk at a time, in time order: each chunk's pixels
that lie in a static bin go to the backend's streaming multi-tau accumulator (one more
per time segment), to the two-time store of the chosen dynamic bins, and to the SAXS
and intensity sums (intensity vs time: the mean count of each frame over the correlated
pixels, those of the static bins). With ``bad_frames="auto"`` a first, cheaper pass
computes the frame totals the outliers are found from.

A reader thread (:mod:`xpcs_core.correlation.prefetch`, :data:`PREFETCH_DEPTH` chunks
ahead) reads and decompresses the frames a few at a time into one reused buffer, gathers
the correlated pixels, sums them and averages groups, while this thread feeds the
accumulators; it stops when the pass ends, fails or is cancelled. Memory is bounded by
``PREFETCH_DEPTH + 1`` gathered chunks plus what the accumulators and the two-time stores
keep, whatever the number of frames.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from xpcs_core.correlation.badframes import BadFrameSpec, check_indices, detect_outliers
from xpcs_core.correlation.gather import Gather
from xpcs_core.correlation.normalize import PixelBins, segment_bounds
from xpcs_core.correlation.prefetch import Prefetch, Stopped
from xpcs_core.correlation.twotime import TwotimeStore
from xpcs_core.errors import XpcsCancelled, XpcsFormatError, XpcsInputError
from xpcs_core.io.raw import FrameSelection, RawFrames, average_groups

__all__ = ["CorrelationJob", "default_chunk"]

#: a chunk holds about this many pixel values (256 frames of 512 x 512: the numpy
#: accumulator's block, so chunks go to it without being copied into its buffer)
CHUNK_ELEMENTS = 1 << 26
#: chunks the reader thread prepares ahead of the accumulators (0: no thread, read in turn;
#: more than 1 only costs memory: the accumulators are the slower side)
PREFETCH_DEPTH = 1


def _cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def prefetch_depth() -> int:
    """:data:`PREFETCH_DEPTH`, or 0 (no reader thread) when this process may use one CPU only."""
    return max(0, int(PREFETCH_DEPTH)) if _cpus() > 1 else 0


def default_chunk(n_pixels_per_frame: int) -> int:
    """Frames per chunk: about :data:`CHUNK_ELEMENTS` values, between 1 and 1024 frames."""
    return int(max(1, min(1024, CHUNK_ELEMENTS // max(n_pixels_per_frame, 1))))


class _Piece(NamedTuple):
    """Raw positions ``pos ..`` of the pass (inside one chunk and one segment), prepared by the reader."""

    pos: int
    n_raw: int
    frames: np.ndarray  # (n_raw / avg, n_pix): gathered, bad frames zeroed, groups averaged
    valid: np.ndarray  # (n_raw / avg,)
    n_good: int  # good raw frames
    totals: np.ndarray | None  # (n_raw,) frame totals over the correlated pixels
    sums: list[np.ndarray]  # per-pixel sums of the good frames, to add to the SAXS 2D sum
    tick: int  # frames of the chunk this piece ends (0: not the last of its chunk)


class CorrelationJob:
    """The state of one run over the frames; :meth:`run` fills it, the output module reads it.

    ``bins`` are the correlated pixels (unmasked, in a static bin); ``indices`` the
    selected raw frames; ``valid_raw`` whether each is good; after :meth:`run`:
    ``sums`` (multi-tau, whole run) and ``segment_sums``, ``saxs_sum``/``n_good`` (SAXS
    2D), ``segment_static`` (per-segment SAXS 1D sums), ``intensity`` (mean count of each
    selected frame over the correlated pixels), ``c2_maps`` (two-time) and the provenances.
    """

    def __init__(self, source: RawFrames, partition: Any, selection: FrameSelection, bad: BadFrameSpec, *,
                 mode: str, segments: int, twotime_bins: list[int] | None, chunk: int | None,
                 backend: str | None, progress: Callable[[int, int], None] | None, cancel: Any,
                 memory_budget: int | None, scratch: Any = None) -> None:
        self.source, self.selection, self.bad = source, selection, bad
        self.mode, self.backend, self.progress, self.cancel = mode, backend, progress, cancel
        if tuple(partition.shape) != tuple(source.shape):
            raise XpcsInputError(
                f"{source.name}: frames of {source.shape[0]} x {source.shape[1]} pixels do not match "
                f"the q-map's {partition.shape[0]} x {partition.shape[1]}"
            )
        self.shape = tuple(source.shape)
        self.bins = PixelBins.from_partition(partition)
        self.gather = Gather(self.bins.pixels, int(np.prod(source.shape)))
        if self.bins.pixels.size == 0:
            raise XpcsInputError("q-map: no unmasked pixel lies in a static bin")
        self.indices = selection.indices(source.n_frames, source.name)
        self.avg = selection.avg
        self.n_out = self.indices.size // self.avg
        self.n_segments = segments
        if self.n_out // segments < 2:
            raise XpcsInputError(
                f"segments: {segments} segments of {self.n_out} frames leave fewer than 2 frames each"
            )
        self.segments = segment_bounds(self.n_out, segments)
        self.chunk = chunk or default_chunk(int(np.prod(self.shape)))
        self.chunk = max(1, self.chunk)
        self.twotime_bins = twotime_bins
        self.memory_budget, self.scratch = memory_budget, scratch
        self.timings: dict[str, float] = {}
        self.warnings: list[str] = []
        self.provenance: dict[str, Any] = {}
        self.sums = None
        self.segment_sums: list[Any] = []
        self.c2_maps: list[np.ndarray] = []
        self.store: TwotimeStore | None = None
        self.intensity = np.full(self.indices.size, np.nan)
        self.bad_indices = np.zeros(0, np.int64)
        self.valid_raw = np.ones(self.indices.size, dtype=bool)
        self._done = 0
        self._total = self.indices.size * (2 if bad.auto else 1)
        self._reader_times = {"read": 0.0, "gather": 0.0}
        self._depth = PREFETCH_DEPTH

    # ------------------------------------------------------------------ helpers
    def _tick(self, n: int) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise XpcsCancelled("correlation cancelled")
        self._done += n
        if self.progress is not None:
            self.progress(self._done, self._total)

    def _read(self, idx: np.ndarray, lo: int, hi: int, buf: np.ndarray, stop: threading.Event) -> np.ndarray:
        """Raw frames ``idx[lo:hi]`` as (hi - lo, H·W), decompressed into ``buf`` (reused); reader thread."""
        if stop.is_set():
            raise Stopped
        t = time.perf_counter()
        block = self.source.read_into(int(idx[lo]), int(idx[hi - 1]) + 1, self.selection.stride, buf)
        self._reader_times["read"] += time.perf_counter() - t
        return block.reshape(block.shape[0], -1)

    def _chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(raw position, raw indices) of each chunk of the pass."""
        chunk = self.chunk * self.avg
        for pos in range(0, self.indices.size, chunk):
            yield pos, self.indices[pos : pos + chunk]

    def _prefetch(self, produce: Callable[[threading.Event], Iterator[Any]]) -> Prefetch[Any]:
        self._depth = prefetch_depth()
        return Prefetch(produce, depth=self._depth, name="xpcs-correlate-reader")

    def _merge_times(self, pieces: Prefetch[Any]) -> None:
        for key, value in (*self._reader_times.items(), ("wait", pieces.wait)):
            self.timings[key] = self.timings.get(key, 0.0) + value
        self._reader_times = {"read": 0.0, "gather": 0.0}

    def _frame_means(self, flat: np.ndarray) -> np.ndarray:
        return self.gather.totals(flat) / self.bins.pixels.size

    def _check_finite(self, block: np.ndarray, raw_idx: np.ndarray, valid: np.ndarray) -> None:
        """A good frame must be finite at every correlated pixel (a bad one may hold anything)."""
        if block.dtype.kind == "f" and not np.isfinite(block[valid]).all():
            rows = np.flatnonzero(valid & ~np.isfinite(block).all(axis=1))
            raise XpcsFormatError(
                self.source.name,
                f"frame {int(raw_idx[rows[0]])} holds NaN or infinite values at correlated pixels "
                "(mask those pixels or list the frame with --bad-frames)",
                self.source.location or None,
            )

    # ------------------------------------------------------------- bad frames
    def find_bad_frames(self) -> None:
        """Mark the bad frames: the user's list, or the outliers of the frame totals."""
        if self.bad.auto:
            start = time.perf_counter()
            with self._prefetch(self._raw_pieces) as pieces:
                for pos, flat, tick in pieces:
                    self.intensity[pos : pos + flat.shape[0]] = self._frame_means(flat)
                    if tick:
                        self._tick(tick)
            self._merge_times(pieces)
            self.bad_indices = self.indices[detect_outliers(self.intensity, self.bad.threshold)]
            self.timings["bad_frames"] = time.perf_counter() - start
        elif self.bad.indices is not None:
            check_indices(self.bad.indices, self.source.n_frames, self.source.name)
            self.bad_indices = np.intersect1d(self.bad.indices, self.indices)
        self.valid_raw = ~np.isin(self.indices, self.bad_indices)
        good_out = self.valid_raw.reshape(self.n_out, self.avg).any(axis=1)
        if good_out.sum() < 2:
            raise XpcsInputError(
                f"{self.source.name}: {self.bad_indices.size} of {self.indices.size} selected frames are bad; "
                "fewer than 2 good frames are left"
            )

    def _raw_pieces(self, stop: threading.Event) -> Iterator[tuple[int, np.ndarray, int]]:
        """(raw position, raw frames (m, H·W), frames to tick) of the first pass; reader thread.

        Pieces of :meth:`Gather.rows` frames from each chunk's start (the totals come out as
        from whole chunks), in a ring of ``depth + 1`` buffers (see prefetch)."""
        rows = self.gather.rows(self.source.dtype, totals_only=True)
        ring = [np.empty((rows, *self.shape), dtype=self.source.dtype) for _ in range(self._depth + 1)]
        k = 0
        for pos, idx in self._chunks():
            for lo in range(0, idx.size, rows):
                hi = min(idx.size, lo + rows)
                flat = self._read(idx, lo, hi, ring[k % len(ring)], stop)
                k += 1
                yield pos + lo, flat, idx.size if hi == idx.size else 0

    # ------------------------------------------------------------------ the run
    def _accumulators(self) -> tuple[Any, list[Any]]:
        from xpcs_core.backends import call
        from xpcs_core.kernels.multitau import MultitauOptions

        options = MultitauOptions()
        n_pix = self.bins.pixels.size
        full, prov = call("xpcs_multitau_accumulator", backend=self.backend, n_pixels=n_pix,
                          n_frames=self.n_out, options=options, workload=float(self.n_out) * n_pix)
        self.provenance["multitau"] = prov.as_dict()
        segs = []
        if self.n_segments > 1:
            for lo, hi in self.segments:
                acc, _ = call("xpcs_multitau_accumulator", backend=prov.backend, n_pixels=n_pix,
                              n_frames=hi - lo, options=options)
                segs.append(acc)
        return full, segs

    def _twotime_store(self) -> TwotimeStore:
        present = np.unique(self.bins.dynamic)
        labels = [int(b) for b in present] if self.twotime_bins is None else list(self.twotime_bins)
        store = TwotimeStore(self.bins, labels, self.n_out, budget=self.memory_budget, scratch=self.scratch)
        self.warnings += store.warnings
        return store

    def run(self) -> None:
        """Find the bad frames, then correlate every chunk; fill the sums and maps."""
        self.find_bad_frames()
        multitau = self.mode in ("multitau", "both")
        twotime = self.mode in ("twotime", "both")
        self.saxs_sum = np.zeros(int(np.prod(self.shape)), dtype=np.float64)
        # segment k spans raw positions bounds[k] .. bounds[k+1]; SAXS 1D per segment is the
        # difference of the static-bin sums of saxs_sum snapped at those bounds
        self._bounds = [lo * self.avg for lo, _ in self.segments] + [self.segments[-1][1] * self.avg]
        self._snaps: list[tuple[np.ndarray, int]] = []
        self._times = {"multitau": 0.0, "twotime": 0.0}
        self.n_good = 0
        start = time.perf_counter()
        with self._prefetch(self._prepared) as pieces:  # the first chunk is read during the set-up
            self._full, self._segs = self._accumulators() if multitau else (None, [])
            self.store = self._twotime_store() if twotime else None
            self.timings["setup"] = time.perf_counter() - start
            for piece in pieces:
                self._apply(piece)
        self._merge_times(pieces)
        if len(self._snaps) < len(self._bounds):
            self._snap()
        self.timings["pass"] = time.perf_counter() - start
        self._finish()

    def _prepared(self, stop: threading.Event) -> Iterator[_Piece]:
        """The pieces of the pass, cut at chunk and segment bounds, ready to correlate; reader thread."""
        dtype = self.source.dtype
        buf = np.empty((self.gather.rows(dtype), *self.shape), dtype=dtype)
        # the gathered frames go to the accumulators as they are (avg 1): a ring of depth + 1
        # (the accumulators keep no reference to a block after update); else one buffer
        n_max = min(self.chunk * self.avg, self.indices.size)
        ring = [np.empty((n_max, self.bins.pixels.size), dtype=dtype)
                for _ in range(self._depth + 1 if self.avg == 1 else 1)]
        k = 0
        for pos, idx in self._chunks():
            n = idx.size
            cuts = [pos] + [b for b in self._bounds if pos < b < pos + n] + [pos + n]
            for a, b in zip(cuts[:-1], cuts[1:], strict=True):
                t, read0 = time.perf_counter(), self._reader_times["read"]
                raw_idx, valid = idx[a - pos : b - pos], self.valid_raw[a:b]
                x, totals, sums = self.gather.gather(
                    lambda lo, hi, i=raw_idx: self._read(i, lo, hi, buf, stop), b - a, dtype, valid,
                    totals=not self.bad.auto, out=ring[k % len(ring)])  # (auto: pass 1 has the totals)
                k += 1
                self._check_finite(x, raw_idx, valid)
                if not valid.all():
                    x[~valid] = 0  # bad frames join nothing; whatever they hold (NaN too) stays out
                xp, vp = average_groups(x, valid, self.avg)
                self._reader_times["gather"] += time.perf_counter() - t - (self._reader_times["read"] - read0)
                yield _Piece(a, b - a, xp, vp, int(valid.sum()), totals, sums, n if b == pos + n else 0)

    def _snap(self) -> None:
        static = np.bincount(self.bins.static - 1, weights=self.saxs_sum[self.bins.pixels],
                             minlength=self.bins.n_static)
        self._snaps.append((static, self.n_good))

    def _apply(self, piece: _Piece) -> None:
        """Add a prepared piece to the SAXS and intensity sums, the accumulators and the two-time store."""
        if piece.pos in self._bounds:
            self._snap()
        for part in piece.sums:
            self.saxs_sum += part
        self.n_good += piece.n_good
        if piece.totals is not None:
            self.intensity[piece.pos : piece.pos + piece.n_raw] = piece.totals / self.bins.pixels.size
        xp, vp = piece.frames, piece.valid
        first = piece.pos // self.avg
        t = time.perf_counter()
        if self._full is not None:
            v = None if vp.all() else vp
            self._full.update(xp, v)
            for k, (lo, hi) in enumerate(self.segments if self._segs else []):
                if lo <= first < hi:
                    self._segs[k].update(xp, v)
        self._times["multitau"] += time.perf_counter() - t
        if self.store is not None:
            t = time.perf_counter()
            self.store.add(first, xp, vp)
            self._times["twotime"] += time.perf_counter() - t
        if piece.tick:
            self._tick(piece.tick)

    def _finish(self) -> None:
        statics = [s for s, _ in self._snaps]
        counts = [c for _, c in self._snaps]
        self.segment_static = np.stack([statics[k + 1] - statics[k] for k in range(self.n_segments)])
        self.segment_frames = np.array([counts[k + 1] - counts[k] for k in range(self.n_segments)])
        t = time.perf_counter()
        if self._full is not None:
            self.sums = self._full.finish()
            self.segment_sums = [acc.finish() for acc in self._segs] if self._segs else [self.sums]
        self.timings["multitau"] = self._times["multitau"] + time.perf_counter() - t
        if self.store is not None:
            t = time.perf_counter()
            self.c2_maps, prov = self.store.finish(self.backend, self.cancel)
            self.provenance["twotime"] = prov.as_dict()
            self.twotime_labels = list(self.store.labels)
            self.store.close()
            self.timings["twotime"] = self._times["twotime"] + time.perf_counter() - t

    def close(self) -> None:
        """Release the two-time stores (and their files on disk)."""
        if self.store is not None:
            self.store.close()

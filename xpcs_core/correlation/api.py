"""``correlate``: raw frames + a q-map -> a result file (multi-tau, two-time or both)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from xpcs_core.correlation.badframes import parse_bad_frames, parse_index_list
from xpcs_core.correlation.driver import CorrelationJob
from xpcs_core.correlation.output import build_result, check_output, load_partition, write_outputs
from xpcs_core.correlation.report import CorrelationReport
from xpcs_core.errors import XpcsInputError
from xpcs_core.io.raw import FrameSelection, open_raw

__all__ = ["MODES", "correlate"]

MODES = ("multitau", "twotime", "both")


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or int(value) < 1:
        raise XpcsInputError(f"{name}: must be a positive integer, got {value!r}")
    return int(value)


def _bins(value: Any) -> list[int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        labels = parse_index_list(value, where="bins")
    else:
        labels = np.unique(np.asarray(value, dtype=np.int64).reshape(-1))
    if labels.size == 0 or labels.min() < 1:
        raise XpcsInputError(f"bins: expected dynamic labels 1, 2, ... (like 1,3-5), got {value!r}")
    return [int(b) for b in labels]


def correlate(
    raw: Any,
    qmap: Any,
    output: str | os.PathLike[str] | None = None,
    *,
    mode: str = "multitau",
    bins: str | Sequence[int] | None = None,
    segments: int = 1,
    bad_frames: Any = None,
    frames: Any = None,
    stride: int = 1,
    avg: int = 1,
    frame_time: float | None = None,
    dataset: str | None = None,
    chunk: int | None = None,
    save_g2ipif: bool = False,
    backend: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    memory_budget: int | None = None,
) -> CorrelationReport:
    """Correlate raw frames over the bins of a q-map; write a NeXus result file.

    Args:
        raw: HDF5 stack, Eiger master file or ``.npy`` path, or an ``(n, H, W)`` array.
        qmap: a q-map file (``xpcs qmap``), a result file (its ``/xpcs/qmap``) or a Partition.
        output: result file to write (atomically); None returns the data in the report.
        mode: ``"multitau"``, ``"twotime"`` or ``"both"``.
        bins: dynamic labels of the two-time maps (``"1,3-5"`` or a list); default all.
        segments: time segments (g2, SAXS 1D and two-time g2 per segment).
        bad_frames: None, ``"auto"`` (``"auto:T"``: threshold T), ``"3,17,100-120"``, a file
            of indices, or a list (raw frame indices).
        frames: ``"BEGIN:END"`` or ``(begin, end)``; ``stride``, ``avg``: every stride-th
            frame, ``avg`` of them averaged into one.
        frame_time: seconds; required when the file has no
            ``/entry/instrument/detector/frame_time`` (and for arrays / ``.npy``).
        dataset: HDF5 path of the frames (default ``/entry/data/data``).
        chunk: frames per chunk after averaging (default: about 16 M pixel values).
        save_g2ipif: also write ``<stem>_G2.hdf`` with the per-pixel G2/IP/IF.
        backend: backend of the accumulators and the two-time hook.
        progress: ``progress(done, total)`` in frames read (both passes with auto).
        cancel: a ``threading.Event``; when set the job raises XpcsCancelled.
        memory_budget: bytes the two-time stores may hold in memory (default: a quarter
            of the RAM); above it they go to disk and a warning is given.

    Raises XpcsInputError / XpcsFormatError (bad arguments or files, checked before
    correlating, including the output path), XpcsCancelled.
    """
    t0 = time.perf_counter()
    if mode not in MODES:
        raise XpcsInputError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    segments = _positive("segments", segments)
    chunk = None if chunk is None else _positive("chunk", chunk)
    twotime_bins = _bins(bins)
    if save_g2ipif and mode == "twotime":
        raise XpcsInputError("save_g2ipif: per-pixel sums come from multi-tau; use mode multitau or both")
    out_path = check_output(output, raw, qmap, save_g2ipif)
    partition = load_partition(qmap)
    bad = parse_bad_frames(bad_frames)
    selection = FrameSelection.parse(frames, stride, avg)
    with open_raw(raw, dataset=dataset, frame_time=frame_time) as source:
        if source.frame_time is None:
            raise XpcsInputError(
                f"{source.name}: no frame time in the file (/entry/instrument/detector/frame_time); "
                "give it with --frame-time SECONDS (frame_time=)"
            )
        job = CorrelationJob(
            source, partition, selection, bad, mode=mode, segments=segments, twotime_bins=twotime_bins,
            chunk=chunk, backend=backend, progress=progress, cancel=cancel, memory_budget=memory_budget,
            scratch=None if out_path is None else out_path.parent,
        )
        try:
            job.run()
            t = time.perf_counter()
            data = build_result(job, partition)
            job.timings["normalize"] = time.perf_counter() - t
            g2_path = None
            if out_path is not None:
                t = time.perf_counter()
                g2_path = write_outputs(out_path, data, job, save_g2ipif)
                job.timings["write"] = time.perf_counter() - t
        finally:
            job.close()
    job.timings["total"] = time.perf_counter() - t0
    pass_time = job.timings.get("pass", 0.0) + job.timings.get("twotime", 0.0)
    n_used = int(job.valid_raw.sum())
    backend_info = job.provenance.get("multitau") or job.provenance.get("twotime") or {}
    return CorrelationReport(
        output=out_path, raw=source.name, mode=mode, frame_time=float(source.frame_time),
        stride=selection.stride, avg=selection.avg, frames_total=source.n_frames,
        frames_selected=int(job.indices.size), frames_used=n_used,
        frames_excluded=int(job.indices.size - n_used), frames_correlated=job.n_out,
        bad_frames=[int(i) for i in job.bad_indices], bad_frames_method=bad.describe(),
        n_pixels=int(job.bins.pixels.size), n_dynamic=job.bins.n_dynamic, n_static=job.bins.n_static,
        segments=segments, twotime_bins=list(getattr(job, "twotime_labels", [])),
        rate_fps=job.indices.size / pass_time if pass_time > 0 else float("inf"),
        backend={**backend_info, "per_analysis": job.provenance},
        multitau_path=None if job.sums is None else job.sums.path, g2ipif=g2_path,
        timings=dict(job.timings), warnings=list(job.warnings), data=data,
    )

"""From a finished :class:`~xpcs_core.correlation.driver.CorrelationJob` to a result file in
the NeXus layout (docs/file-format.md): g2 and its segments, SAXS 2D/1D/1D per segment,
intensity vs time, two-time maps and their g2, the q-map group, the raw-data path and,
with ``--save-g2ipif``, the external-linked per-pixel sums file ``<stem>_G2.hdf``.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

import numpy as np

from xpcs_core.kernels.twotime import diagonal_means
from xpcs_core.correlation.normalize import (
    align_delays,
    normalize_multitau,
)
from xpcs_core.errors import XpcsInputError

__all__ = ["build_result", "check_output", "g2ipif_path", "load_partition", "result_qmap", "write_outputs"]


def result_qmap(partition: Any) -> Any:
    """The q-map in the form :class:`~xpcs_core.io.data.ResultData` takes (the one place
    to change once ResultData takes a Partition directly)."""
    from xpcs_core.io.qmap_file import group_from_partition

    return group_from_partition(partition)


def load_partition(qmap: Any) -> Any:
    """A :class:`~xpcs_core.partition.Partition`, or one read from a q-map or result file."""
    from xpcs_core import Partition, read_qmap

    if isinstance(qmap, Partition):
        return qmap
    if isinstance(qmap, (str, os.PathLike)):
        return read_qmap(qmap)
    raise XpcsInputError(f"qmap: expected a q-map or result file path or a Partition, got {type(qmap).__name__}")


def g2ipif_path(output: Path) -> Path:
    """``<result stem>_G2.hdf`` next to the result."""
    return output.with_name(f"{output.stem}_G2.hdf")


def check_output(output: Any, raw: Any, qmap: Any, save_g2ipif: bool) -> Path | None:
    """Refuse, before any work, an output that is an input or cannot be written
    (:func:`xpcs_core.io.outputs.check_outputs`)."""
    from xpcs_core.io.outputs import check_outputs

    if output is None:
        if save_g2ipif:
            raise XpcsInputError("save_g2ipif: needs an output file (-o RESULT.h5)")
        return None
    path = Path(output)
    inputs = {name: source for name, source in (("RAW", raw), ("--qmap", qmap))
              if isinstance(source, str | os.PathLike)}
    check_outputs({"-o": path, "--save-g2ipif": g2ipif_path(path) if save_g2ipif else None}, inputs)
    return path


def _start_time(source: Any) -> str:
    if source.start_time:
        return source.start_time
    stamp = source.path.stat().st_mtime if source.path is not None else None
    when = _dt.datetime.fromtimestamp(stamp) if stamp is not None else _dt.datetime.now()
    return when.astimezone().isoformat(timespec="seconds")


def _multitau(job: Any, config: dict[str, Any]) -> Any:
    from xpcs_core.io.data import MultitauData

    sums, bins = job.sums, job.bins
    g2, err = normalize_multitau(sums.G2, sums.IP, sums.IF, bins)
    seg_g2, seg_err, labels = [], [], []
    for (lo, hi), seg in zip(job.segments, job.segment_sums, strict=True):
        g, e = (g2, err) if seg is sums else normalize_multitau(seg.G2, seg.IP, seg.IF, bins)
        seg_g2.append(align_delays(seg.delays, g, sums.delays))
        seg_err.append(align_delays(seg.delays, e, sums.delays))
        labels.append(f"frames {int(job.indices[lo * job.avg])}-{int(job.indices[hi * job.avg - 1])}")
    return MultitauData(
        g2=g2, g2_err=err, delay_list=sums.delays, stride_frame=job.selection.stride,
        avg_frame=job.avg, g2_segments=np.stack(seg_g2), g2_segments_err=np.stack(seg_err),
        g2_segments_labels=labels,
        config={**config, "multitau_path": sums.path, "valid_pairs": np.asarray(sums.n_pairs, np.int64)},
    )


def _twotime(job: Any, config: dict[str, Any]) -> Any:
    from xpcs_core.io.data import TwotimeData

    g2 = np.stack([diagonal_means(c2) for c2 in job.c2_maps], axis=1)
    segments = np.stack([
        np.stack([diagonal_means(c2[lo:hi, lo:hi]) for c2 in job.c2_maps], axis=1)
        for lo, hi in job.segments
    ])
    return TwotimeData(
        processed_bins=np.asarray(job.twotime_labels, dtype=np.int64), c2_maps=job.c2_maps, g2=g2,
        g2_segments=segments, delay_list=np.arange(job.n_out, dtype=np.int64),
        stride_frame=job.selection.stride, avg_frame=job.avg,
        config={**config, "normalization": "each pixel / time mean of its static bin"},
    )


def build_result(job: Any, partition: Any) -> Any:
    """The :class:`~xpcs_core.io.data.ResultData` of a finished job."""
    from xpcs_core.io.data import ResultData

    source, bins = job.source, job.bins
    if job.n_good == 0:
        raise XpcsInputError(f"{source.name}: every selected frame is bad")
    saxs_2d = (job.saxs_sum / job.n_good).reshape(job.shape)
    flat = saxs_2d.reshape(-1)
    per_static = np.bincount(bins.static - 1, minlength=bins.n_static).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        saxs_1d_segments = job.segment_static / job.segment_frames[:, None] / per_static[None]
    config = {
        **job.selection.as_config(source.n_frames),
        "bad_frames": job.bad_indices.astype(np.int64),
        "bad_frames_method": job.bad.describe(),
        "n_segments": job.n_segments,
        "chunk_frames": job.chunk,
    }
    count_time = source.metadata.get("count_time", source.frame_time)
    return ResultData(
        qmap=result_qmap(partition), frame_time=float(source.frame_time), count_time=count_time,
        saxs_2d=saxs_2d, saxs_1d=bins.static_means(flat[bins.pixels]),
        saxs_1d_segments=saxs_1d_segments,
        intensity_vs_time=np.vstack([job.indices.astype(np.float64), job.intensity]),
        bad_frames=job.bad_indices.astype(np.int64),
        multitau=_multitau(job, config) if job.sums is not None else None,
        twotime=_twotime(job, config) if job.c2_maps else None,
        start_time=_start_time(source),
        rawdata_path=str(source.path.resolve()) if source.path is not None else source.name,
    )


def write_outputs(path: Path, data: Any, job: Any, save_g2ipif: bool) -> Path | None:
    """Write the result (and the per-pixel sums file); on any failure neither is left."""
    from xpcs_core.io.writer import G2IPIF_KEY, write_g2ipif, write_result

    g2_path = None
    if save_g2ipif:
        sums = job.sums
        g2_path = g2ipif_path(path)
        write_g2ipif(g2_path, sums.delays, (sums.G2, sums.IP, sums.IF), job.bins.pixels, job.shape)
        data.multitau.unnormalized_link = (g2_path.name, G2IPIF_KEY)
    try:
        write_result(path, data)
    except BaseException:
        if g2_path is not None:
            g2_path.unlink(missing_ok=True)
        raise
    return g2_path


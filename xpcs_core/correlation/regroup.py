"""``regroup``: g2 of another partition from a result's per-pixel sums, without correlating again.

Reads ``/xpcs/multitau/unnormalized_G2`` (G2, IP, IF per lag and pixel, written by
``correlate(..., save_g2ipif=True)``), normalizes it over the bins of the other q-map
(docs/physics.md, "Multi-tau correlation"), recomputes SAXS 1D from SAXS 2D and writes a
new result that links the same per-pixel sums file. Per-segment g2/SAXS and two-time maps
depend on sums that are not stored per pixel: the new file does not carry them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from xpcs_core.correlation.normalize import PixelBins, normalize_multitau
from xpcs_core.correlation.output import load_partition, result_qmap
from xpcs_core.errors import XpcsFormatError, XpcsFormatWarning, XpcsInputError

__all__ = ["regroup"]


def _link_for(result: Any, output: Path | None) -> tuple[str, str] | None:
    """The source's external link to the sums, made relative to the output's folder."""
    link = result.file.get(result.key("unnormalized"), getlink=True)
    if not isinstance(link, h5py.ExternalLink) or output is None:
        return None
    target = (result.path.parent / link.filename).resolve()
    return os.path.relpath(target, output.resolve().parent), link.path


def regroup(result: str | os.PathLike[str], qmap: Any, output: str | os.PathLike[str] | None = None) -> Any:
    """Recompute g2, g2_err and SAXS 1D of ``result`` over the bins of ``qmap``.

    ``qmap``: a q-map file, a result file or a Partition of the same detector shape.
    Writes ``output`` (atomically) when given; returns the new
    :class:`~xpcs_core.io.data.ResultData`. Pixels of the new bins without sums in the
    source (not correlated there) are left out with a warning.
    """
    from xpcs_core.io.data import MultitauData, ResultData
    from xpcs_core.io.result import open_result
    from xpcs_core.io.writer import write_result

    out_path = None if output is None else Path(output)
    if out_path is not None:
        if not (out_path.parent if str(out_path.parent) else Path(".")).is_dir():
            raise XpcsInputError(f"{out_path}: output folder {out_path.parent} does not exist")
        for source in (result, qmap):
            if isinstance(source, (str, os.PathLike)) and Path(source).exists() and out_path.exists() \
                    and os.path.samefile(source, out_path):
                raise XpcsInputError(f"{out_path}: refusing to overwrite an input file")
    partition = load_partition(qmap)
    with open_result(result) as res:
        if "multitau" not in res.analysis:
            raise XpcsFormatError(res.path, "no multi-tau results to regroup")
        status = res.unnormalized_status
        if status != "present":
            raise XpcsFormatError(
                res.path,
                "no per-pixel sums (" + ("absent" if status == "absent" else status) + "); "
                "correlate with --save-g2ipif to regroup later", res.key("unnormalized"),
            )
        if tuple(res.detector_shape) != tuple(partition.shape):
            raise XpcsInputError(
                f"{res.path}: detector {res.detector_shape} does not match the q-map's {partition.shape}"
            )
        bins = PixelBins.from_partition(partition)
        ds = res.file[res.key("unnormalized")]
        n_tau = ds.shape[0]
        sums = np.empty((3, n_tau, bins.pixels.size))
        for i in range(n_tau):
            sums[:, i] = np.asarray(ds[i], dtype=np.float64).reshape(3, -1)[:, bins.pixels]
        have = np.isfinite(sums[:, 0]).all(axis=0)
        if not have.all():
            warnings.warn(
                f"{res.path}: {int((~have).sum())} pixels of the new bins have no per-pixel sums "
                "(they were not correlated); left out", XpcsFormatWarning, stacklevel=2,
            )
            bins, sums = bins.subset(have), sums[:, :, have]
        if bins.pixels.size == 0:
            raise XpcsInputError(f"{res.path}: no pixel of the new q-map has per-pixel sums")
        g2, err = normalize_multitau(sums[0], sums[1], sums[2], bins)
        saxs_2d = res.saxs_2d
        saxs_1d = None
        if saxs_2d is not None:
            saxs_1d = bins.static_means(np.asarray(saxs_2d, dtype=np.float64).reshape(-1)[bins.pixels])
        config = {k: v for k, v in res.multitau_config.items()
                  if k not in ("stride_frame", "avg_frame", "analysis_type")}
        config["regrouped_from"] = str(res.path)
        multitau = MultitauData(
            g2=g2, g2_err=err, delay_list=res.delay_list.astype(np.int64), stride_frame=res.stride_frame,
            avg_frame=res.avg_frame, config=config, unnormalized_link=_link_for(res, out_path),
        )
        bad = res.file.get("/xpcs/spatial_mean/bad_frames")
        data = ResultData(
            qmap=result_qmap(partition), frame_time=res.frame_time, count_time=res.count_time,
            energy=res.energy, detector_distance=res.detector_distance,
            pixel_size=(res.pixel_size, res.pixel_size_y), saxs_2d=saxs_2d, saxs_1d=saxs_1d,
            intensity_vs_time=res.intensity_vs_time,
            bad_frames=None if bad is None else np.asarray(bad[()], dtype=np.int64),
            multitau=multitau, start_time=res.start_time, rawdata_path=res.rawdata_path,
        )
    if out_path is not None:
        write_result(out_path, data)
    return data

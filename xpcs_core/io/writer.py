"""``write_result``: write a :class:`ResultData` in the NeXus layout of docs/file-format.md, atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from xpcs_core.errors import XpcsInputError
from xpcs_core.io._h5util import write_array, write_string, write_strings
from xpcs_core.io.atomic import atomic_h5
from xpcs_core.io.data import Meta, MultitauData, ResultData, TwotimeData
from xpcs_core.io.qmap_group import write_qmap_group

__all__ = ["G2IPIF_KEY", "write_g2ipif", "write_result", "write_result_to"]

#: dataset of the per-pixel sums file ``<result stem>_G2.hdf`` (``--save-g2ipif``)
G2IPIF_KEY = "/G2IPIF"

#: format version written to /xpcs/qmap and /xpcs attributes
WRITER_VERSION = "xpcs-core 1"


def write_result(path: str | os.PathLike[str], data: ResultData, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` in the NeXus layout (temporary file + rename).

    Validates shapes first (XpcsInputError); an interrupted write leaves no partial file.
    Returns the path written.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise XpcsInputError(f"{target}: exists (pass overwrite=True to replace it)")
    _check(data)
    with atomic_h5(target) as f:
        write_result_to(f, data)
    return target


def write_result_to(f: h5py.File, data: ResultData) -> None:
    """Write ``data`` into an open, writable file (e.g. one from :func:`atomic_h5`)."""
    _check(data)
    qmap = data.qmap
    entry = f.require_group("entry")
    entry.attrs["NX_class"] = "NXentry"
    instrument = entry.require_group("instrument")
    instrument.attrs["NX_class"] = "NXinstrument"
    det = instrument.require_group("detector_1")
    det.attrs["NX_class"] = "NXdetector"
    beam = instrument.require_group("incident_beam")
    beam.attrs["NX_class"] = "NXbeam"
    px, py = data.pixel_size or (qmap.pixel_size, qmap.pixel_size)
    _scalar(det, "frame_time", data.frame_time, "s")
    if data.count_time is not None:
        _scalar(det, "count_time", data.count_time, "s")
    _scalar(det, "x_pixel_size", px, "m")
    _scalar(det, "y_pixel_size", py, "m")
    _scalar(det, "distance", data.detector_distance or qmap.detector_distance, "m")
    _scalar(beam, "incident_energy", data.energy or qmap.energy, "keV")
    if data.start_time is not None:
        write_string(entry, "start_time", data.start_time)
    for name, meta in data.metadata.items():
        _meta(entry, name, meta)

    xpcs = f.require_group("xpcs")
    xpcs.attrs["writer"] = np.bytes_(WRITER_VERSION.encode())
    if data.rawdata_path is not None:
        write_string(xpcs, "rawdata_path", data.rawdata_path)
    write_qmap_group(xpcs.require_group("qmap"), qmap)

    temporal = xpcs.require_group("temporal_mean")
    if data.saxs_2d is not None:
        saxs = np.asarray(data.saxs_2d)
        write_array(temporal, "scattering_2d", saxs.reshape((1, *saxs.shape[-2:])))
    if data.saxs_1d is not None:
        write_array(temporal, "scattering_1d", np.asarray(data.saxs_1d).reshape(1, -1))
    if data.saxs_1d_segments is not None:
        write_array(temporal, "scattering_1d_segments", data.saxs_1d_segments)
    if data.intensity_vs_time is not None:
        write_array(xpcs.require_group("spatial_mean"), "intensity_vs_time", data.intensity_vs_time)
    if data.bad_frames is not None:
        write_array(xpcs.require_group("spatial_mean"), "bad_frames",
                    np.asarray(data.bad_frames, dtype=np.int64).reshape(-1))
    if data.multitau is not None:
        _write_multitau(xpcs.require_group("multitau"), data.multitau)
    if data.twotime is not None:
        _write_twotime(xpcs.require_group("twotime"), data.twotime)


def _scalar(group: h5py.Group, name: str, value: float, unit: str) -> None:
    if name in group:
        del group[name]
    ds = group.create_dataset(name, data=np.float64(value))
    ds.attrs["units"] = np.bytes_(unit.encode())


def _meta(entry: h5py.Group, name: str, meta: Meta | Any) -> None:
    meta = meta if isinstance(meta, Meta) else Meta(meta)
    parent, _, leaf = name.strip("/").rpartition("/")
    group = entry.require_group(parent) if parent else entry
    if isinstance(meta.value, str):
        ds = write_string(group, leaf, meta.value)
    else:
        if leaf in group:
            del group[leaf]
        ds = group.create_dataset(leaf, data=np.asarray(meta.value))
    if meta.unit:
        ds.attrs["units"] = np.bytes_(meta.unit.encode())


def _write_config(group: h5py.Group, config: dict[str, Any], stride: int, avg: int) -> None:
    cfg = group.require_group("config")
    for name, value in {**config, "stride_frame": int(stride), "avg_frame": int(avg)}.items():
        if value is None:
            continue
        array = np.asarray(value)
        if isinstance(value, str) or array.dtype.kind in "OU":
            write_string(cfg, name, str(value))
        else:
            if name in cfg:
                del cfg[name]
            cfg.create_dataset(name, data=array)


def _write_multitau(group: h5py.Group, mt: MultitauData) -> None:
    write_array(group, "normalized_g2", mt.g2)
    write_array(group, "normalized_g2_err", mt.g2_err)
    write_array(group, "delay_list", np.asarray(mt.delay_list).astype(np.int64))
    _write_config(group, {"analysis_type": "multitau", **mt.config}, mt.stride_frame, mt.avg_frame)
    if mt.g2_segments is not None:
        write_array(group, "normalized_g2_partial", mt.g2_segments)
        if mt.g2_segments_err is not None:
            write_array(group, "normalized_g2_partial_err", mt.g2_segments_err)
        if mt.g2_segments_labels is not None:
            write_strings(group, "normalized_g2_partial_labels", mt.g2_segments_labels)
    if mt.unnormalized is not None:
        write_array(group, "unnormalized_G2", mt.unnormalized)
    elif mt.unnormalized_link is not None:
        filename, target = mt.unnormalized_link
        group["unnormalized_G2"] = h5py.ExternalLink(filename, target)


def _write_twotime(group: h5py.Group, tt: TwotimeData) -> None:
    from xpcs_core.kernels.twotime import diagonal_means

    maps = group.require_group("correlation_map")
    for i, c2 in enumerate(tt.c2_maps, start=1):
        write_array(maps, f"c2_{i:05d}", np.triu(np.asarray(c2)))
    write_array(group, "processed_bins", np.asarray(tt.processed_bins).astype(np.int64))
    g2 = tt.g2
    if g2 is None:  # the diagonals of the upper triangles (the maps may be stored halves)
        g2 = np.stack([diagonal_means(np.asarray(c2)) for c2 in tt.c2_maps], axis=1)
    write_array(group, "normalized_g2", g2)
    # the APS viewer refuses a two-time file without segments: one segment = the whole map
    segments = tt.g2_segments if tt.g2_segments is not None else np.asarray(g2)[None]
    write_array(group, "normalized_g2_segments", segments)
    n = np.shape(tt.c2_maps[0])[0]
    delays = tt.delay_list if tt.delay_list is not None else np.arange(n, dtype=np.int64)
    write_array(group, "delay_list", delays)
    _write_config(group, {"analysis_type": "twotime", **tt.config}, tt.stride_frame, tt.avg_frame)


def write_g2ipif(path: str | os.PathLike[str], delays: np.ndarray, sums: tuple[np.ndarray, np.ndarray, np.ndarray],
                 pixels: np.ndarray, shape: tuple[int, int]) -> Path:
    """Write the per-pixel sums file (docs/file-format.md, "Per-pixel sums"), atomically.

    ``sums`` = (G2, IP, IF), each (n_tau, n_pix) for the flat pixel indices ``pixels`` of
    an (H, W) detector; ``/G2IPIF`` is float32 (n_tau, 3, H, W), NaN at pixels without
    sums, written one lag at a time. ``/delay_list`` holds the frame lags.
    """
    delays = np.asarray(delays, dtype=np.int64).reshape(-1)
    pixels = np.asarray(pixels, dtype=np.int64)
    n_tau, (h, w) = delays.size, shape
    for name, arr in zip(("G2", "IP", "IF"), sums, strict=True):
        if np.shape(arr) != (n_tau, pixels.size):
            raise XpcsInputError(f"{name}: shape {np.shape(arr)} does not match ({n_tau}, {pixels.size})")
    with atomic_h5(path) as f:
        ds = f.create_dataset(G2IPIF_KEY, shape=(n_tau, 3, h, w), dtype=np.float32,
                              chunks=(1, 1, h, w), compression="lzf")
        ds.attrs["axis1"] = np.array([b"G2", b"IP", b"IF"])
        image = np.full(h * w, np.nan, dtype=np.float32)
        for i in range(n_tau):
            for j, arr in enumerate(sums):
                image[pixels] = arr[i]
                ds[i, j] = image.reshape(h, w)
        f.create_dataset("delay_list", data=delays)
    return Path(path)


def _check(data: ResultData) -> None:
    """Shape checks so that what is written can be read back."""
    qmap = data.qmap
    qmap.validate()
    shape, n_dyn, n_static = qmap.shape, qmap.dynamic.n_labels, qmap.static.n_labels
    if not (np.isfinite(data.frame_time) and data.frame_time > 0):
        raise XpcsInputError(f"frame_time: must be positive, found {data.frame_time}")
    if data.saxs_2d is not None and np.shape(data.saxs_2d)[-2:] != shape:
        raise XpcsInputError(f"saxs_2d: shape {np.shape(data.saxs_2d)} does not match the q-map {shape}")
    if data.saxs_1d is not None and np.size(data.saxs_1d) != n_static:
        raise XpcsInputError(f"saxs_1d: {np.size(data.saxs_1d)} values for {n_static} static bins")
    if data.saxs_1d_segments is not None and np.shape(data.saxs_1d_segments)[-1:] != (n_static,):
        raise XpcsInputError(
            f"saxs_1d_segments: shape {np.shape(data.saxs_1d_segments)} does not match {n_static} static bins"
        )
    if data.intensity_vs_time is not None and (
        np.ndim(data.intensity_vs_time) != 2 or np.shape(data.intensity_vs_time)[0] != 2
    ):
        raise XpcsInputError(
            f"intensity_vs_time: expected (2, n_frames), found {np.shape(data.intensity_vs_time)}"
        )
    mt = data.multitau
    if mt is not None:
        n_tau = np.size(mt.delay_list)
        for name in ("g2", "g2_err"):
            if np.shape(getattr(mt, name)) != (n_tau, n_dyn):
                raise XpcsInputError(
                    f"multitau.{name}: shape {np.shape(getattr(mt, name))} "
                    f"does not match (n_tau, n_dyn) = ({n_tau}, {n_dyn})"
                )
        delays = np.asarray(mt.delay_list)
        if not (np.all(delays > 0) and np.all(delays == np.round(delays))):
            raise XpcsInputError("multitau.delay_list: must be positive whole frame lags")
    tt = data.twotime
    if tt is not None:
        if len(tt.c2_maps) != np.size(tt.processed_bins) or not tt.c2_maps:
            raise XpcsInputError(f"twotime: {len(tt.c2_maps)} maps for {np.size(tt.processed_bins)} bins")
        bins = np.asarray(tt.processed_bins)
        if bins.min() < 1 or bins.max() > n_dyn:
            raise XpcsInputError(f"twotime.processed_bins: labels must lie in 1..{n_dyn}")
        sizes = {np.shape(m) for m in tt.c2_maps}
        if len(sizes) != 1 or any(len(s) != 2 or s[0] != s[1] for s in sizes):
            raise XpcsInputError(f"twotime.c2_maps: expected square maps of one size, found {sorted(sizes)}")

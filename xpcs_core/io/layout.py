"""Layout detection and the HDF5 keys of the NeXus and legacy layouts (FORMAT.md)."""

from __future__ import annotations

import h5py

from xpcs_core.errors import XpcsFormatError

NEXUS = "nexus"
LEGACY = "legacy"
MULTITAU = "multitau"
TWOTIME = "twotime"

#: logical name -> HDF5 path (a tuple lists accepted alternatives, first found wins)
NEXUS_KEYS: dict[str, str | tuple[str, ...]] = {
    "g2": "/xpcs/multitau/normalized_g2",
    "g2_err": "/xpcs/multitau/normalized_g2_err",
    "delay_list": "/xpcs/multitau/delay_list",
    "multitau_config": "/xpcs/multitau/config",
    "stride_frame": "/xpcs/multitau/config/stride_frame",
    "avg_frame": "/xpcs/multitau/config/avg_frame",
    "g2_segments": ("/xpcs/multitau/normalized_g2_partial", "/xpcs/multitau/normalized_g2_segments"),
    "unnormalized": ("/xpcs/multitau/unnormalized_G2", "/xpcs/multitau/unnormalized_g2"),
    "saxs_2d": "/xpcs/temporal_mean/scattering_2d",
    "saxs_1d": "/xpcs/temporal_mean/scattering_1d",
    "saxs_1d_segments": "/xpcs/temporal_mean/scattering_1d_segments",
    "intensity_vs_time": "/xpcs/spatial_mean/intensity_vs_time",
    "c2_group": "/xpcs/twotime/correlation_map",
    "c2_bins": "/xpcs/twotime/processed_bins",
    "c2_g2": "/xpcs/twotime/normalized_g2",
    "c2_g2_segments": "/xpcs/twotime/normalized_g2_segments",
    "c2_delay_list": "/xpcs/twotime/delay_list",
    "twotime_config": "/xpcs/twotime/config",
    "c2_stride_frame": "/xpcs/twotime/config/stride_frame",
    "c2_avg_frame": "/xpcs/twotime/config/avg_frame",
    "rawdata_path": "/xpcs/rawdata_path",
    "frame_time": "/entry/instrument/detector_1/frame_time",
    "count_time": "/entry/instrument/detector_1/count_time",
    "energy": "/entry/instrument/incident_beam/incident_energy",
    "pixel_size_x": "/entry/instrument/detector_1/x_pixel_size",
    "pixel_size_y": "/entry/instrument/detector_1/y_pixel_size",
    "distance": "/entry/instrument/detector_1/distance",
    "start_time": "/entry/start_time",
    "qmap": "/xpcs/qmap",
    "metadata": "/entry",
}

LEGACY_KEYS: dict[str, str | tuple[str, ...]] = {
    "g2": "/exchange/norm-0-g2",
    "g2_err": "/exchange/norm-0-stderr",
    "delay_list": "/exchange/tau",
    "stride_frame": "/xpcs/stride_frames",
    "avg_frame": "/xpcs/avg_frames",
    "unnormalized_G2": "/exchange/G2",
    "unnormalized_IP": "/exchange/IP",
    "unnormalized_IF": "/exchange/IF",
    "saxs_2d": "/exchange/pixelSum",
    "saxs_1d": "/exchange/partition-mean-total",
    "saxs_1d_segments": "/exchange/partition-mean-partial",
    "intensity_vs_time": "/exchange/frameSum",
    "c2_group": "/exchange/C2T_all",
    "c2_g2": "/exchange/g2full",
    "c2_g2_segments": "/exchange/g2partials",
    "c2_stride_frame": "/xpcs/stride_frames",
    "c2_avg_frame": "/xpcs/avg_frames",
    "analysis_type": "/xpcs/analysis_type",
    "version": "/xpcs/Version",
    "frame_time": "/measurement/instrument/detector/exposure_period",
    "count_time": "/measurement/instrument/detector/exposure_time",
    "energy": "/measurement/instrument/source_begin/energy",
    "pixel_size_x": "/measurement/instrument/detector/x_pixel_size",
    "pixel_size_y": "/measurement/instrument/detector/y_pixel_size",
    "distance": "/measurement/instrument/detector/distance",
    "x_dimension": "/measurement/instrument/detector/x_dimension",
    "y_dimension": "/measurement/instrument/detector/y_dimension",
    "beam_center_x": "/measurement/instrument/acquisition/beam_center_x",
    "beam_center_y": "/measurement/instrument/acquisition/beam_center_y",
    "metadata": "/measurement",
}


def _exists(f: h5py.File, key: str, kind: type | None = None) -> bool:
    try:
        obj = f.get(key)
    except Exception:
        return False
    return obj is not None and (kind is None or isinstance(obj, kind))


def detect_layout(f: h5py.File, path: object) -> str:
    """``"nexus"`` or ``"legacy"`` following FORMAT.md; XpcsFormatError for anything else."""
    if _exists(f, "/entry/instrument/bluesky/metadata", h5py.Group) or (
        _exists(f, "/xpcs/qmap", h5py.Group) and _exists(f, "/entry", h5py.Group)
    ):
        return NEXUS
    if _exists(f, "/xpcs/Version", h5py.Dataset):
        return LEGACY
    raise XpcsFormatError(
        path,
        "not an XPCS result file: found neither the NeXus layout (/xpcs/qmap with /entry) "
        "nor the legacy layout (/xpcs/Version)",
    )


def has_link(f: h5py.File, key: str) -> bool:
    """Whether a link named ``key`` exists (even a dangling one)."""
    try:
        return f.get(key, getlink=True) is not None
    except Exception:
        return False


def detect_analysis(f: h5py.File, layout: str) -> list[str]:
    """Analysis kinds present, in the order ("multitau", "twotime"). A dangling link counts
    as present, so that reading it reports the broken link."""
    keys = NEXUS_KEYS if layout == NEXUS else LEGACY_KEYS
    found = []
    if has_link(f, keys["g2"]):  # type: ignore[arg-type]
        found.append(MULTITAU)
    if has_link(f, keys["c2_group"]):  # type: ignore[arg-type]
        found.append(TWOTIME)
    return found

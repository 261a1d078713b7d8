"""Result files built by plain h5py code, independent of xpcs_core's writer.

``build_nexus`` / ``build_legacy`` write small but complete files with known contents
and return the expected values. ``edit`` changes one key of a file afterwards (delete
it, or replace it with a value / link / group), for the bad-input corpus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

H, W = 20, 30
DELAYS = np.array([1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16])
FRAME_TIME, STRIDE, AVG = 2e-3, 2, 3
N_FRAMES = 50
DELETE = object()


def _partitions() -> dict[str, Any]:
    """Dynamic: 2 q (by column) x 2 phi (by row); natural bin 2 (q1, phi0) is masked out.
    Static: 4 q x 2 phi nested in it."""
    rows, cols = np.mgrid[:H, :W]
    phi_i = (rows >= 10).astype(int)
    dq_i = (cols >= 15).astype(int)
    sq_i = np.minimum(cols * 4 // W, 3)
    mask = ~((rows < 10) & (cols >= 15))
    mask[0, 0] = False  # one bad pixel
    d_nat = dq_i * 2 + phi_i
    s_nat = sq_i * 2 + phi_i
    d_map = np.array([0, 1, 3])  # non-empty natural dynamic bins
    s_map = np.array([0, 1, 2, 3, 5, 7])
    d_lut = np.zeros(4, int)
    d_lut[d_map] = np.arange(1, 4)
    s_lut = np.zeros(8, int)
    s_lut[s_map] = np.arange(1, 7)
    return {
        "mask": mask,
        "dynamic_roi_map": np.where(mask, d_lut[d_nat], 0),
        "static_roi_map": np.where(mask, s_lut[s_nat], 0),
        "dynamic_index_mapping": d_map,
        "static_index_mapping": s_map,
        "dynamic_q": np.array([0.01, 0.02]),
        "static_q": np.array([0.0075, 0.0125, 0.0175, 0.0225]),
        "phi": np.array([-90.0, 90.0]),
        "d_nat": np.where(mask, d_nat + 1, 0),
        "s_nat": np.where(mask, s_nat + 1, 0),
    }


def expected_values() -> dict[str, Any]:
    p = _partitions()
    n_tau = DELAYS.size
    g2 = (1 + 0.3 * np.exp(-DELAYS[:, None] / (5.0 * np.arange(1, 4)[None, :]))).astype(np.float32)
    g2_err = np.full((n_tau, 3), 0.01, np.float32) + np.arange(3, dtype=np.float32) * 1e-3
    saxs = np.arange(H * W, dtype=np.float32).reshape(H, W) / 100.0
    s_lab = p["static_roi_map"]
    saxs_1d = np.array([saxs[s_lab == k].mean() for k in range(1, 7)])
    c2 = np.arange(64, dtype=np.float32).reshape(8, 8) / 64 + 1.0
    return {
        **p,
        "g2": g2,
        "g2_err": g2_err,
        "tau": DELAYS * FRAME_TIME * STRIDE * AVG,
        "saxs_2d": saxs,
        "saxs_1d": saxs_1d,
        "saxs_1d_segments": np.stack([saxs_1d * 0.9, saxs_1d * 1.1]),
        "intensity_vs_time": np.vstack([np.arange(N_FRAMES), 1.0 + 0.01 * np.arange(N_FRAMES)]),
        "g2_segments": np.stack([g2, g2 + 0.01]),
        "c2_upper": [np.triu(c2), np.triu(c2 * 2)],
        "twotime_bins": [3, 1],
        "dyn_label_q": np.array([0.01, 0.01, 0.02]),
        "dyn_label_phi": np.array([-90.0, 90.0, 90.0]),
        "static_label_q": np.array([0.0075, 0.0075, 0.0125, 0.0125, 0.0175, 0.0225]),
    }


def _units(ds: h5py.Dataset, unit: str, as_str: bool) -> None:
    ds.attrs["units"] = unit if as_str else np.bytes_(unit.encode())


def build_nexus(
    path: Path, *, twotime: bool = True, strings: str = "bytes", bluesky: bool = False
) -> dict[str, Any]:
    """A NeXus-layout file; ``strings`` = "bytes" or "str" for every string field."""
    e = expected_values()
    as_str = strings == "str"

    def text(value: str) -> Any:
        return value if as_str else np.bytes_(value.encode())

    def texts(values: list[str]) -> Any:
        return (
            np.array(values, dtype=h5py.string_dtype()) if as_str else np.array([v.encode() for v in values])
        )

    with h5py.File(path, "w") as f:
        det = f.create_group("entry/instrument/detector_1")
        for name, value, unit in (
            ("frame_time", FRAME_TIME, "s"),
            ("count_time", 1.5e-3, "s"),
            ("x_pixel_size", 75e-6, "m"),
            ("y_pixel_size", 75e-6, "m"),
            ("distance", 5.0, "m"),
        ):
            det[name] = value
            _units(det[name], unit, as_str)
        f["entry/instrument/incident_beam/incident_energy"] = 10.0
        _units(f["entry/instrument/incident_beam/incident_energy"], "keV", as_str)
        f["entry/start_time"] = text("2024-05-01T12:00:00")
        f["entry/sample/temperature"] = 298.0
        _units(f["entry/sample/temperature"], "K", as_str)
        f["entry/big_array"] = np.zeros(1000)
        if bluesky:
            f.create_group("entry/instrument/bluesky/metadata")["plan_name"] = text("count")
        f["xpcs/rawdata_path"] = text("/data/A001/A001.h5")
        q = f.create_group("xpcs/qmap")
        q["beam_center_x"], q["beam_center_y"] = 5.5, 4.0
        q["pixel_size"], q["detector_distance"], q["energy"] = 75e-6, 5.0, 10.0
        q["mask"] = e["mask"].astype(np.uint8)
        q["blemish"] = np.ones((H, W), np.uint8)
        q["map_names"] = texts(["q", "phi"])
        q["map_units"] = texts(["1/A", "degree"])
        for prefix, qs, n0 in (("dynamic", e["dynamic_q"], 2), ("static", e["static_q"], 4)):
            q.create_dataset(
                f"{prefix}_roi_map", data=e[f"{prefix}_roi_map"].astype(np.uint32), compression="gzip"
            )
            q[f"{prefix}_num_pts"] = np.array([n0, 2])
            q[f"{prefix}_v_list_dim0"] = qs
            q[f"{prefix}_v_list_dim1"] = e["phi"]
            for dim, (unit, name) in enumerate((("1/A", "q"), ("degree", "phi"))):
                ds = q[f"{prefix}_v_list_dim{dim}"]
                ds.attrs["unit"] = text(unit)
                ds.attrs["name"] = text(name)
                ds.attrs["size"] = ds.size
            q[f"{prefix}_index_mapping"] = e[f"{prefix}_index_mapping"]
        q.attrs["hash"] = text("0" * 64)
        q.attrs["version"] = text("0.1")
        mt = f.create_group("xpcs/multitau")
        mt["normalized_g2"] = e["g2"]
        mt["normalized_g2_err"] = e["g2_err"]
        mt["delay_list"] = DELAYS
        mt["config/stride_frame"] = STRIDE
        mt["config/avg_frame"] = AVG
        mt["config/analysis_type"] = text("Multitau")
        mt["normalized_g2_partial"] = e["g2_segments"]
        mt["normalized_g2_partial_err"] = np.stack([e["g2_err"], e["g2_err"]])
        mt["normalized_g2_partial_labels"] = texts(["first half", "second half"])
        tm = f.create_group("xpcs/temporal_mean")
        tm["scattering_2d"] = e["saxs_2d"][None]
        tm["scattering_1d"] = e["saxs_1d"].astype(np.float32)[None]
        tm["scattering_1d_segments"] = e["saxs_1d_segments"].astype(np.float32)
        f["xpcs/spatial_mean/intensity_vs_time"] = e["intensity_vs_time"]
        if twotime:
            tt = f.create_group("xpcs/twotime")
            tt["correlation_map/c2_00001"] = e["c2_upper"][0]
            tt["correlation_map/c2_00002"] = e["c2_upper"][1]
            tt["processed_bins"] = np.array(e["twotime_bins"])
            tt["normalized_g2"] = np.ones((8, 2), np.float32)
            tt["config/stride_frame"] = 4
            tt["config/avg_frame"] = 1
    return e


def build_legacy(path: Path, *, twotime: bool = True, strings: str = "bytes") -> dict[str, Any]:
    """A legacy-layout file: uncompressed labels (natural + 1), NaN phi for empty bins,
    lengths in mm without units, g2 with a NaN column for the empty dynamic bin."""
    e = expected_values()
    as_str = strings == "str"
    g2 = np.full((DELAYS.size, 4), np.nan)
    g2[:, e["dynamic_index_mapping"]] = e["g2"]
    err = np.full((DELAYS.size, 4), np.nan)
    err[:, e["dynamic_index_mapping"]] = e["g2_err"]
    saxs_1d = np.full(8, np.nan)
    saxs_1d[e["static_index_mapping"]] = e["saxs_1d"]
    with h5py.File(path, "w") as f:
        x = f.create_group("xpcs")
        x["Version"] = "0.5" if as_str else np.bytes_(b"0.5")
        x["analysis_type"] = "Twotime" if as_str else np.bytes_(b"Twotime")
        x["dqmap"] = e["d_nat"].astype(np.int64)
        x["sqmap"] = e["s_nat"].astype(np.int64)
        x["mask"] = e["mask"].astype(np.int32)
        x["dqlist"] = np.repeat(e["dynamic_q"], 2)[None]
        x["dphilist"] = np.array([[-90.0, 90.0, np.nan, 90.0]])
        x["sqlist"] = np.repeat(e["static_q"], 2)[None]
        x["sphilist"] = np.array([[-90.0, 90.0, -90.0, 90.0, np.nan, 90.0, np.nan, 90.0]])
        x["dnoq"], x["dnophi"], x["snoq"], x["snophi"] = 2, 2, 4, 2
        x["stride_frames"], x["avg_frames"] = np.array([[STRIDE]]), np.array([[AVG]])
        ex = f.create_group("exchange")
        ex["norm-0-g2"] = g2
        ex["norm-0-stderr"] = err
        ex["tau"] = DELAYS.astype(np.float64)[None]
        ex["pixelSum"] = e["saxs_2d"]
        ex["frameSum"] = e["intensity_vs_time"]
        ex["partition-mean-total"] = saxs_1d[None]
        ex["partition-mean-partial"] = np.stack([saxs_1d * 0.9, saxs_1d * 1.1])
        if twotime:
            # legacy maps are numbered by (uncompressed) label: dynamic labels 3 and 1 of
            # the NeXus file are natural bins 3 and 0, i.e. legacy labels 4 and 1
            ex["C2T_all/g2_00004"] = e["c2_upper"][0]
            ex["C2T_all/g2_00001"] = e["c2_upper"][1]
            ex["g2full"] = np.ones((8, 2))
        det = f.create_group("measurement/instrument/detector")
        det["exposure_period"] = np.array([[FRAME_TIME]])
        det["exposure_time"] = 1.5e-3
        det["distance"] = 5000.0
        det["x_pixel_size"] = 0.075
        det["y_pixel_size"] = 0.075
        det["x_dimension"], det["y_dimension"] = W, H
        acq = f.create_group("measurement/instrument/acquisition")
        acq["beam_center_x"], acq["beam_center_y"] = 5.5, 4.0
        f["measurement/instrument/source_begin/energy"] = 10.0
    return e


def edit(path: Path, key: str, value: Any = DELETE) -> None:
    """Delete ``key`` or replace it with ``value`` (an array, an h5py link, or "group")."""
    with h5py.File(path, "r+") as f:
        if key in f or f.get(key, getlink=True) is not None:
            del f[key]
        if value is DELETE:
            return
        if isinstance(value, str) and value == "group":
            f.create_group(key)
        else:
            f[key] = value

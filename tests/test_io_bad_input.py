"""Bad-input corpus: each malformed file gives a typed error naming the file and the key,
and ``xpcs info`` exits 2 with one line and no traceback. Plus a property-based fuzz test."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xpcs_core
from tests.io_helpers import DELAYS, H, W, build_legacy, build_nexus, edit
from xpcs_core.cli.main import main
from xpcs_core.errors import XpcsError, XpcsFormatError

MT = "/xpcs/multitau"
QM = "/xpcs/qmap"
DET = "/entry/instrument/detector_1"
LDET = "/measurement/instrument/detector"


def _g2(n_tau: int = 12, n_dyn: int = 3, fill: float | None = None) -> np.ndarray:
    g2 = np.ones((n_tau, n_dyn), np.float32) * 1.1
    if fill is not None:
        g2[:] = fill
    return g2


def _nexus(*edits: tuple) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        build_nexus(path)
        for item in edits:
            edit(path, *item)

    return make


def _legacy(*edits: tuple) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        build_legacy(path)
        for item in edits:
            edit(path, *item)

    return make


def _raw(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def _truncated(path: Path) -> None:
    build_nexus(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _directory(path: Path) -> None:
    path.mkdir()


def _not_xpcs(path: Path) -> None:
    with h5py.File(path, "w") as f:
        f["entry/title"] = b"some other experiment"


def _no_qmap(path: Path) -> None:
    build_nexus(path)
    edit(path, QM)


def _unnormalized_wrong_shape(path: Path) -> None:
    build_nexus(path)
    edit(path, f"{MT}/unnormalized_G2", np.zeros((12, 3, H, W + 1), np.float32))


def _legacy_units(path: Path) -> None:
    build_legacy(path)
    with h5py.File(path, "r+") as f:
        f[f"{LDET}/distance"].attrs["units"] = "furlong"


def _roi(label_value: int | float, dtype=np.int64) -> np.ndarray:
    roi = np.zeros((H, W), dtype)
    roi[5, 5] = label_value
    return roi


# id -> (make, expected key or None, message pattern)
CORPUS: dict[str, tuple[Callable[[Path], None], str | None, str]] = {
    "not_hdf5": (_raw(b"this is a text file, not HDF5\n" * 20), None, "not an HDF5 file"),
    "empty_file": (_raw(b""), None, "empty file"),
    "truncated": (_truncated, None, "cannot open HDF5 file"),
    "directory": (_directory, None, "is a directory"),
    "hdf5_not_xpcs": (_not_xpcs, None, "not an XPCS result file"),
    "qmap_group_missing": (_no_qmap, None, "not an XPCS result file"),
    "g2_missing": (_nexus((f"{MT}/normalized_g2",)), f"{MT}/normalized_g2", "missing"),
    "g2_rows_vs_delays": (
        _nexus((f"{MT}/normalized_g2", _g2(11))),
        f"{MT}/normalized_g2",
        r"shape \(11, 3\) does not match",
    ),
    "g2_columns_vs_bins": (
        _nexus((f"{MT}/normalized_g2", _g2(12, 5))),
        f"{MT}/normalized_g2",
        "dynamic bins",
    ),
    "g2_err_shape": (
        _nexus((f"{MT}/normalized_g2_err", _g2(12, 2))),
        f"{MT}/normalized_g2_err",
        "does not match",
    ),
    "g2_err_missing": (_nexus((f"{MT}/normalized_g2_err",)), f"{MT}/normalized_g2_err", "missing"),
    "g2_zero_length": (
        _nexus((f"{MT}/normalized_g2", np.zeros((0, 3), np.float32))),
        f"{MT}/normalized_g2",
        "empty",
    ),
    "g2_inf": (_nexus((f"{MT}/normalized_g2", _g2(fill=np.inf))), f"{MT}/normalized_g2", "infinite"),
    "g2_all_nan": (
        _nexus((f"{MT}/normalized_g2", _g2(fill=np.nan))),
        f"{MT}/normalized_g2",
        "all values are NaN",
    ),
    "g2_strings": (_nexus((f"{MT}/normalized_g2", np.array([b"a", b"b"]))), f"{MT}/normalized_g2", "dtype"),
    "g2_dangling_link": (
        _nexus((f"{MT}/normalized_g2", h5py.ExternalLink("nowhere.h5", "/g2"))),
        f"{MT}/normalized_g2",
        "dangling link",
    ),
    "g2_err_negative": (
        _nexus((f"{MT}/normalized_g2_err", _g2(fill=-0.01))),
        f"{MT}/normalized_g2_err",
        "negative",
    ),
    "g2_segments_shape": (
        _nexus((f"{MT}/normalized_g2_partial", np.ones((2, 12, 4)))),
        f"{MT}/normalized_g2_partial",
        "does not match",
    ),
    "delays_all_nan": (
        _nexus((f"{MT}/delay_list", np.full(12, np.nan))),
        f"{MT}/delay_list",
        "NaN or infinite",
    ),
    "delays_inf": (
        _nexus((f"{MT}/delay_list", np.r_[DELAYS[:-1], np.inf])),
        f"{MT}/delay_list",
        "NaN or infinite",
    ),
    "delays_zero": (_nexus((f"{MT}/delay_list", np.r_[0, DELAYS[1:]])), f"{MT}/delay_list", "positive"),
    "delays_not_increasing": (
        _nexus((f"{MT}/delay_list", DELAYS[::-1].copy())),
        f"{MT}/delay_list",
        "increase",
    ),
    "delays_zero_length": (_nexus((f"{MT}/delay_list", np.zeros(0, np.int64))), f"{MT}/delay_list", "empty"),
    "delays_strings": (
        _nexus((f"{MT}/delay_list", np.array(["1", "2"], dtype=h5py.string_dtype()))),
        f"{MT}/delay_list",
        "dtype",
    ),
    "stride_zero": (
        _nexus((f"{MT}/config/stride_frame", 0)),
        f"{MT}/config/stride_frame",
        "positive whole number",
    ),
    "frame_time_negative": (_nexus((f"{DET}/frame_time", -1e-3)), f"{DET}/frame_time", "positive"),
    "frame_time_nan": (_nexus((f"{DET}/frame_time", np.nan)), f"{DET}/frame_time", "not finite"),
    "frame_time_missing": (_nexus((f"{DET}/frame_time",)), f"{DET}/frame_time", "missing"),
    "frame_time_array": (_nexus((f"{DET}/frame_time", np.ones(3))), f"{DET}/frame_time", "single number"),
    "frame_time_string": (_nexus((f"{DET}/frame_time", b"1ms")), f"{DET}/frame_time", "dtype"),
    "energy_zero": (
        _nexus(("/entry/instrument/incident_beam/incident_energy", 0.0)),
        "/entry/instrument/incident_beam/incident_energy",
        "positive",
    ),
    "labels_beyond_bins": (_nexus((f"{QM}/dynamic_roi_map", _roi(7))), f"{QM}/dynamic_roi_map", "beyond"),
    "labels_negative": (_nexus((f"{QM}/static_roi_map", _roi(-2))), f"{QM}/static_roi_map", "negative"),
    "labels_not_integer": (
        _nexus((f"{QM}/dynamic_roi_map", _roi(1.5, np.float64))),
        f"{QM}/dynamic_roi_map",
        "integers",
    ),
    "index_mapping_out_of_range": (
        _nexus((f"{QM}/dynamic_index_mapping", np.array([0, 1, 9]))),
        f"{QM}/dynamic_index_mapping",
        "0..3",
    ),
    "v_list_vs_num_pts": (
        _nexus((f"{QM}/static_v_list_dim0", np.ones(3))),
        f"{QM}/static_v_list_dim0",
        "num_pts",
    ),
    "roi_map_is_group": (
        _nexus((f"{QM}/dynamic_roi_map", "group")),
        f"{QM}/dynamic_roi_map",
        "expected a dataset",
    ),
    "static_map_vs_mask": (
        _nexus((f"{QM}/static_roi_map", np.zeros((H, W - 1), np.int32))),
        f"{QM}/static_roi_map",
        "does not match the mask",
    ),
    "qmap_energy_missing": (_nexus((f"{QM}/energy",)), f"{QM}/energy", "missing"),
    "saxs_2d_vs_qmap": (
        _nexus(("/xpcs/temporal_mean/scattering_2d", np.zeros((1, H, W + 2), np.float32))),
        "/xpcs/temporal_mean/scattering_2d",
        "does not match the q-map",
    ),
    "saxs_1d_vs_static_bins": (
        _nexus(("/xpcs/temporal_mean/scattering_1d", np.zeros((1, 4)))),
        "/xpcs/temporal_mean/scattering_1d",
        "static bins",
    ),
    "intensity_vs_time_shape": (
        _nexus(("/xpcs/spatial_mean/intensity_vs_time", np.zeros((3, 50)))),
        "/xpcs/spatial_mean/intensity_vs_time",
        r"\(2, n\)",
    ),
    "unnormalized_wrong_shape": (_unnormalized_wrong_shape, f"{MT}/unnormalized_G2", "does not match"),
    "twotime_bins_beyond": (
        _nexus(("/xpcs/twotime/processed_bins", np.array([3, 4]))),
        "/xpcs/twotime/processed_bins",
        r"1\.\.3",
    ),
    "twotime_bins_count": (
        _nexus(("/xpcs/twotime/processed_bins", np.array([3]))),
        "/xpcs/twotime/processed_bins",
        "1 bins for 2",
    ),
    "c2_not_square": (
        _nexus(("/xpcs/twotime/correlation_map/c2_00001", np.ones((8, 7), np.float32))),
        "/xpcs/twotime/correlation_map/c2_00001",
        "square",
    ),
    "c2_group_empty": (
        _nexus(("/xpcs/twotime/correlation_map/c2_00001",), ("/xpcs/twotime/correlation_map/c2_00002",)),
        "/xpcs/twotime/correlation_map",
        "holds no correlation maps",
    ),
    "legacy_g2_missing": (_legacy(("/exchange/norm-0-g2",)), "/exchange/norm-0-g2", "missing"),
    "legacy_tau_nan": (_legacy(("/exchange/tau", np.full((1, 12), np.nan))), "/exchange/tau", "NaN"),
    "legacy_qlist_length": (
        _legacy(("/xpcs/dqlist", np.ones((1, 3)))),
        "/xpcs/dqlist",
        "expected 2 q bins or 4 labels",
    ),
    "legacy_labels_beyond": (_legacy(("/xpcs/dqmap", _roi(9))), "/xpcs/dqmap", "0..4"),
    "legacy_sqmap_shape": (
        _legacy(("/xpcs/sqmap", np.zeros((H + 1, W), np.int64))),
        "/xpcs/sqmap",
        "does not match",
    ),
    "legacy_x_dimension": (
        _legacy((f"{LDET}/x_dimension", W + 5)),
        f"{LDET}/x_dimension",
        "does not match the q-map",
    ),
    "legacy_frame_time_zero": (
        _legacy((f"{LDET}/exposure_period", 0.0)),
        f"{LDET}/exposure_period",
        "positive",
    ),
    "legacy_unknown_unit": (_legacy_units, f"{LDET}/distance", "unknown length unit"),
    "legacy_pixelsum_shape": (
        _legacy(("/exchange/pixelSum", np.zeros((H, W + 1)))),
        "/exchange/pixelSum",
        "does not match",
    ),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_corpus_typed_error(tmp_path, case):
    make, key, pattern = CORPUS[case]
    path = tmp_path / f"{case}.h5"
    make(path)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(XpcsFormatError, match=pattern) as info:
        xpcs_core.open_result(path)
    err = info.value
    assert err.path == str(path)
    assert err.key == key
    assert str(path) in str(err) and (key is None or key in str(err))
    assert sorted(os.listdir(tmp_path)) == before  # nothing written next to the input


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_corpus_info_exit_2_one_line(tmp_path, capsys, case):
    make, key, _ = CORPUS[case]
    path = tmp_path / f"{case}.h5"
    make(path)
    with pytest.raises(SystemExit) as exc:
        main(["info", str(path)])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("xpcs: error: ") and str(path) in lines[0]
    assert key is None or key in lines[0]
    assert "Traceback" not in err and out == ""


def test_missing_file(tmp_path):
    with pytest.raises(XpcsFormatError, match="no such file"):
        xpcs_core.open_result(tmp_path / "nope.h5")


def test_strings_as_bytes_and_str_read_the_same(tmp_path):
    a, b = tmp_path / "bytes.h5", tmp_path / "str.h5"
    build_nexus(a, strings="bytes")
    build_nexus(b, strings="str")
    with h5py.File(b, "r") as f:  # the str variant really stores variable-length str
        assert h5py.check_string_dtype(f["/entry/start_time"].dtype).encoding == "utf-8"
    with xpcs_core.open_result(a) as ra, xpcs_core.open_result(b) as rb:
        assert ra.start_time == rb.start_time == "2024-05-01T12:00:00"
        assert ra.qmap.map_names == rb.qmap.map_names == ("q", "phi")
        assert ra.g2_segments_labels == rb.g2_segments_labels
        assert ra.metadata["sample"]["temperature"] == rb.metadata["sample"]["temperature"]


# ------------------------------------------------------------------ fuzzing
_BASES: dict[str, bytes] = {}


def _base(layout: str) -> bytes:
    if layout not in _BASES:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "base.h5"
            (build_nexus if layout == "nexus" else build_legacy)(path)
            _BASES[layout] = path.read_bytes()
    return _BASES[layout]


def _dataset_keys(layout: str) -> list[str]:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "k.h5"
        path.write_bytes(_base(layout))
        keys: list[str] = []
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: keys.append("/" + name))
    return sorted(keys)


KEYS = {layout: _dataset_keys(layout) for layout in ("nexus", "legacy")}
_DIMS = st.sampled_from([0, 1, 2, 3, 8, 12, H, W])
_SHAPES = st.lists(_DIMS, min_size=0, max_size=4).map(tuple)
_DTYPES = st.sampled_from(["f4", "f8", "i8", "u1", "?", "S4", "c8"])
_FILLS = st.sampled_from(["ones", "zeros", "nan", "inf", "neg", "range"])


def _value(shape: tuple[int, ...], dtype: str, fill: str) -> np.ndarray:
    if dtype == "S4":
        return np.full(shape, b"ab", dtype="S4")
    base = {
        "ones": np.ones(shape),
        "zeros": np.zeros(shape),
        "nan": np.full(shape, np.nan),
        "inf": np.full(shape, np.inf),
        "neg": -np.ones(shape),
        "range": np.arange(int(np.prod(shape))).reshape(shape) + 1.0,
    }[fill]
    with np.errstate(invalid="ignore"):
        return base.astype(dtype)


def _touch_everything(r: xpcs_core.XpcsResult) -> None:
    r.summary()
    for name in (
        "g2",
        "g2_err",
        "tau",
        "saxs_2d",
        "saxs_1d",
        "saxs_1d_segments",
        "intensity_vs_time",
        "g2_segments",
        "g2_segments_err",
        "g2_segments_labels",
        "dynamic_q",
        "dynamic_phi",
        "static_q",
        "static_phi",
        "metadata",
        "multitau_config",
        "start_time",
        "rawdata_path",
        "count_time",
        "pixel_size_y",
        "unnormalized_status",
    ):
        try:
            getattr(r, name)
        except XpcsError:
            pass
    if "twotime" in r.analysis:
        for label in r.twotime_bins:
            r.c2(int(label))
        r.twotime_g2, r.twotime_g2_segments, r.twotime_delay_list  # noqa: B018
    r.unnormalized()
    r.to_data()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layout=st.sampled_from(["nexus", "legacy"]),
    validate=st.booleans(),
    data=st.data(),
)
def test_fuzz_only_typed_errors_escape(layout, validate, data):
    keys = KEYS[layout]
    deleted = data.draw(st.sets(st.sampled_from(keys), max_size=3), label="deleted")
    replaced = data.draw(
        st.dictionaries(st.sampled_from(keys), st.tuples(_SHAPES, _DTYPES, _FILLS), max_size=3),
        label="replaced",
    )
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.h5"
        path.write_bytes(_base(layout))
        with h5py.File(path, "r+") as f:
            for key in sorted(deleted | set(replaced)):
                if key in f:
                    del f[key]
            for key, (shape, dtype, fill) in replaced.items():
                try:
                    f[key] = _value(shape, dtype, fill)
                except (ValueError, KeyError, TypeError, OSError):
                    pass  # parent deleted or name clash: fine, the file is just different
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                with xpcs_core.open_result(path, validate=validate) as r:
                    _touch_everything(r)
            except XpcsError as exc:
                assert str(path) in str(exc) or "no " in str(exc)

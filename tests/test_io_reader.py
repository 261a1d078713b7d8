"""open_result on files built by plain h5py code (tests/io_helpers.py), both layouts."""

from __future__ import annotations

import hashlib
import os
import warnings

import h5py
import numpy as np
import pytest

import xpcs_core
from tests.io_helpers import DELAYS, FRAME_TIME, H, W, build_legacy, build_nexus, edit
from xpcs_core.errors import XpcsFormatWarning, XpcsInputError
from xpcs_core.io.data import Meta


@pytest.fixture(params=["bytes", "str"])
def nexus(tmp_path, request):
    path = tmp_path / "A001_nexus.hdf"
    return path, build_nexus(path, strings=request.param)


@pytest.fixture(params=["bytes", "str"])
def legacy(tmp_path, request):
    path = tmp_path / "A001_legacy.hdf"
    return path, build_legacy(path, strings=request.param)


def _digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_public_api_is_lazy():
    assert xpcs_core.open_result is xpcs_core.io.result.open_result
    assert "open_result" in dir(xpcs_core)


def test_nexus_reads_every_item(nexus):
    path, e = nexus
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = xpcs_core.open_result(path)
    with r:
        assert r.layout == "nexus" and r.analysis == ["multitau", "twotime"]
        np.testing.assert_array_equal(r.g2, e["g2"])
        np.testing.assert_array_equal(r.g2_err, e["g2_err"])
        assert r.g2.dtype == np.float64
        np.testing.assert_allclose(r.tau, DELAYS * FRAME_TIME * 2 * 3)
        assert (r.stride_frame, r.avg_frame) == (2, 3)
        np.testing.assert_array_equal(r.dynamic_q, e["dyn_label_q"])
        np.testing.assert_array_equal(r.dynamic_phi, e["dyn_label_phi"])
        np.testing.assert_array_equal(r.static_q, e["static_label_q"])
        np.testing.assert_array_equal(r.saxs_2d, e["saxs_2d"])
        np.testing.assert_allclose(r.saxs_1d, e["saxs_1d"], rtol=1e-6)
        np.testing.assert_allclose(r.saxs_1d_segments, e["saxs_1d_segments"], rtol=1e-6)
        np.testing.assert_array_equal(r.intensity_vs_time, e["intensity_vs_time"])
        np.testing.assert_array_equal(r.g2_segments, e["g2_segments"])
        assert r.g2_segments_labels == ["first half", "second half"]
        assert r.twotime_bins.tolist() == [3, 1]
        full = r.c2(3)
        np.testing.assert_array_equal(full, full.T)
        np.testing.assert_array_equal(np.triu(full), e["c2_upper"][0])
        np.testing.assert_array_equal(r.c2(1, full=False), e["c2_upper"][1])
        np.testing.assert_allclose(r.twotime_tau[:3], [0, 4 * FRAME_TIME, 8 * FRAME_TIME])
        qm = r.qmap
        np.testing.assert_array_equal(qm.dynamic.labels, e["dynamic_roi_map"])
        np.testing.assert_array_equal(qm.mask, e["mask"])
        assert qm.map_names == ("q", "phi") and qm.map_units == ("1/A", "degree")
        assert qm.dynamic.units == ("1/A", "degree")
        assert (r.beam_center_x, r.beam_center_y) == (5.5, 4.0)
        assert (r.energy, r.detector_distance, r.pixel_size) == (10.0, 5.0, 75e-6)
        assert r.count_time == 1.5e-3 and r.detector_shape == (H, W) and r.n_frames == 50
        assert r.start_time == "2024-05-01T12:00:00"
        assert r.rawdata_path == "/data/A001/A001.h5"
        assert r.multitau_config["analysis_type"] == "Multitau"
        det = r.metadata["instrument"]["detector_1"]
        assert det["frame_time"] == Meta(FRAME_TIME, "s")
        assert r.metadata["sample"]["temperature"] == Meta(298.0, "K")
        assert "big_array" not in r.metadata
        assert r.unnormalized_status == "absent" and r.unnormalized() is None
    assert r.closed
    np.testing.assert_array_equal(r.g2, e["g2"])  # already-read arrays stay usable
    with pytest.raises(XpcsInputError, match="closed"):
        _ = r.twotime_g2


def test_summary_of_nexus(nexus):
    path, _ = nexus
    with xpcs_core.open_result(path) as r:
        s = r.summary()
    assert s["layout"] == "nexus"
    assert s["analysis"] == ["multitau", "twotime"]
    assert s["detector_shape"] == [H, W]
    assert s["n_frames"] == 50 and s["frame_time_s"] == FRAME_TIME
    assert s["beam_center_x"] == 5.5 and s["beam_center_y"] == 4.0
    assert s["n_dynamic_bins"] == 3 and s["n_static_bins"] == 6
    assert s["q_range"] == [0.01, 0.02]
    assert s["tau_range_s"] == pytest.approx([0.012, 16 * 0.012])
    assert s["n_tau"] == 12 and s["twotime_bins"] == [3, 1]


def test_legacy_reads_the_same_physics(legacy):
    path, e = legacy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = xpcs_core.open_result(path)
    with r:
        assert r.layout == "legacy" and r.analysis == ["multitau", "twotime"]
        # legacy columns are all natural bins; the empty one (label 3) is NaN
        assert r.g2.shape == (12, 4)
        np.testing.assert_array_equal(r.g2[:, [0, 1, 3]], e["g2"])
        assert np.isnan(r.g2[:, 2]).all()
        np.testing.assert_allclose(r.tau, e["tau"])
        np.testing.assert_array_equal(r.dynamic_q, [0.01, 0.01, 0.02, 0.02])
        np.testing.assert_array_equal(r.dynamic_phi, [-90.0, 90.0, np.nan, 90.0])
        assert r.detector_distance == pytest.approx(5.0)  # mm without units -> m
        assert r.pixel_size == pytest.approx(75e-6)
        assert r.frame_time == FRAME_TIME and (r.stride_frame, r.avg_frame) == (2, 3)
        assert (r.beam_center_x, r.beam_center_y, r.energy) == (5.5, 4.0, 10.0)
        np.testing.assert_array_equal(r.saxs_2d, e["saxs_2d"])
        np.testing.assert_allclose(r.saxs_1d[e["static_index_mapping"]], e["saxs_1d"])
        assert r.twotime_bins.tolist() == [1, 4]
        np.testing.assert_array_equal(np.triu(r.c2(4)), e["c2_upper"][0])
        np.testing.assert_array_equal(r.qmap.mask, e["mask"])
        assert r.multitau_config["analysis_type"] == "Twotime"
        assert r.metadata["instrument"]["detector"]["x_dimension"].value == W
        s = r.summary()
    assert s["n_dynamic_bins"] == 3 and s["n_static_bins"] == 6
    assert s["q_range"] == [0.01, 0.02] and s["twotime_bins"] == [1, 4]


def test_layout_detection_via_bluesky_group(tmp_path):
    path = tmp_path / "b.h5"
    build_nexus(path, bluesky=True)
    with xpcs_core.open_result(path) as r:
        assert r.layout == "nexus"
        assert r.metadata["instrument"]["bluesky"]["metadata"]["plan_name"].value == "count"


def test_multitau_only_and_twotime_only(tmp_path):
    a = tmp_path / "mt.h5"
    build_nexus(a, twotime=False)
    with xpcs_core.open_result(a) as r:
        assert r.analysis == ["multitau"]
        assert r.summary()["twotime_bins"] == []
        with pytest.raises(XpcsInputError, match="no twotime"):
            _ = r.twotime_bins
    b = tmp_path / "tt.h5"
    build_nexus(b)
    edit(b, "xpcs/multitau")
    with xpcs_core.open_result(b) as r:
        assert r.analysis == ["twotime"]
        s = r.summary()
        assert s["n_tau"] == 7 and s["tau_range_s"] == pytest.approx([4 * FRAME_TIME, 28 * FRAME_TIME])


def test_nan_bins_are_kept(tmp_path):
    path = tmp_path / "nan.h5"
    e = build_nexus(path)
    g2 = e["g2"].copy()
    g2[4:, 1] = np.nan
    edit(path, "xpcs/multitau/normalized_g2", g2)
    with xpcs_core.open_result(path) as r:
        assert np.isnan(r.g2[4:, 1]).all()
        np.testing.assert_array_equal(r.g2[:, 0], e["g2"][:, 0])


def test_zero_errors_warn_but_read(tmp_path):
    path = tmp_path / "zero.h5"
    e = build_nexus(path)
    err = e["g2_err"].copy()
    err[0, 0] = 0
    edit(path, "xpcs/multitau/normalized_g2_err", err)
    with pytest.warns(XpcsFormatWarning, match="1 zero errors"), xpcs_core.open_result(path) as r:
        assert r.g2_err[0, 0] == 0


def test_lazy_saxs_2d_is_not_read_at_open(tmp_path, monkeypatch):
    path = tmp_path / "lazy.h5"
    build_nexus(path)
    reads: list[str] = []
    original = h5py.Dataset.__getitem__

    def spy(self, args, *rest):
        reads.append(self.name)
        return original(self, args, *rest)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    with xpcs_core.open_result(path) as r:
        assert not any(n.endswith("scattering_2d") or "correlation_map" in n for n in reads)
        _ = r.saxs_2d
        assert reads[-1] == "/xpcs/temporal_mean/scattering_2d"


def test_input_is_not_modified(nexus):
    path, _ = nexus
    before, mtime = _digest(path), os.stat(path).st_mtime_ns
    with xpcs_core.open_result(path) as r:
        r.to_data()
        r.summary()
    assert _digest(path) == before and os.stat(path).st_mtime_ns == mtime


def test_read_only_file_opens(tmp_path):
    path = tmp_path / "ro.h5"
    build_nexus(path)
    path.chmod(0o444)
    try:
        with xpcs_core.open_result(path) as r:
            assert r.g2.shape == (12, 3)
    finally:
        path.chmod(0o644)


def _unnormalized(shape=(12, 3, H, W)) -> np.ndarray:
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape)


@pytest.mark.parametrize("name", ["unnormalized_G2", "unnormalized_g2"])
def test_unnormalized_external_link(tmp_path, monkeypatch, name):
    path = tmp_path / "A001_results.hdf"
    build_nexus(path)
    side = tmp_path / "A001_results_G2.hdf"
    data = _unnormalized()
    with h5py.File(side, "w") as f:
        f["G2IPIF"] = data
    edit(path, f"xpcs/multitau/{name}", h5py.ExternalLink(side.name, "/G2IPIF"))
    monkeypatch.chdir(tmp_path.parent)  # relative link resolves next to the result file
    with xpcs_core.open_result(path) as r:
        assert r.unnormalized_status == "present"
        np.testing.assert_array_equal(r.unnormalized(), data)
        np.testing.assert_array_equal(r.unnormalized(2), data[2])


def test_dangling_external_link_is_reported_not_fatal(tmp_path):
    path = tmp_path / "A001_results.hdf"
    e = build_nexus(path)
    edit(path, "xpcs/multitau/unnormalized_G2", h5py.ExternalLink("gone_G2.hdf", "/G2IPIF"))
    with pytest.warns(XpcsFormatWarning, match="dangling link to gone_G2.hdf:/G2IPIF"):
        r = xpcs_core.open_result(path)
    with r:
        assert r.unnormalized_status.startswith("dangling")
        assert r.unnormalized() is None
        np.testing.assert_array_equal(r.g2, e["g2"])


def test_legacy_unnormalized(tmp_path):
    path = tmp_path / "leg.h5"
    build_legacy(path)
    data = _unnormalized()
    for i, name in enumerate(("G2", "IP", "IF")):
        edit(path, f"exchange/{name}", data[:, i])
    with xpcs_core.open_result(path) as r:
        np.testing.assert_array_equal(r.unnormalized(), data)


def test_legacy_units_attribute_is_honoured(tmp_path):
    path = tmp_path / "leg.h5"
    build_legacy(path)
    edit(path, "measurement/instrument/detector/distance", 4.2)
    with h5py.File(path, "r+") as f:
        f["measurement/instrument/detector/distance"].attrs["units"] = "m"
    with xpcs_core.open_result(path) as r:
        assert r.detector_distance == 4.2


def test_validate_false_defers_errors(tmp_path):
    path = tmp_path / "bad.h5"
    build_nexus(path)
    edit(path, "xpcs/multitau/delay_list", np.arange(5) + 1)
    r = xpcs_core.open_result(path, validate=False)
    with r:
        with pytest.raises(xpcs_core.XpcsFormatError, match="does not match"):
            r.validate()

"""write_result: NeXus layout on disk (checked with plain h5py), round trips, atomicity."""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest

import xpcs_core
from tests.io_helpers import H, W, build_legacy, build_nexus
from xpcs_core.errors import XpcsInputError
from xpcs_core.io import writer as writer_module
from xpcs_core.io.synthetic import SyntheticSpec, make_synthetic
from xpcs_core.io.writer import write_result


def _digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _assert_same_result(a: xpcs_core.XpcsResult, b: xpcs_core.XpcsResult, *, exact: bool = True) -> None:
    """Equal items; ``exact=False`` allows float32 rounding (the writer stores float32)."""
    rtol = 0 if exact else 1e-6
    assert a.analysis == b.analysis
    for name in (
        "g2",
        "g2_err",
        "tau",
        "delay_list",
        "dynamic_q",
        "static_q",
        "saxs_2d",
        "saxs_1d",
        "saxs_1d_segments",
        "intensity_vs_time",
        "g2_segments",
        "g2_segments_err",
    ):
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
        else:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=0, err_msg=name)
    for name in (
        "frame_time",
        "count_time",
        "energy",
        "detector_distance",
        "pixel_size",
        "beam_center_x",
        "beam_center_y",
        "detector_shape",
        "start_time",
        "rawdata_path",
        "stride_frame",
        "avg_frame",
        "g2_segments_labels",
        "n_frames",
    ):
        assert getattr(a, name) == getattr(b, name), name
    for prefix in ("dynamic", "static"):
        p, q = getattr(a.qmap, prefix), getattr(b.qmap, prefix)
        np.testing.assert_array_equal(p.labels, q.labels)
        np.testing.assert_array_equal(p.index_mapping, q.index_mapping)
    np.testing.assert_array_equal(a.qmap.mask, b.qmap.mask)
    if "twotime" in a.analysis:
        assert a.twotime_bins.tolist() == b.twotime_bins.tolist()
        for label in a.twotime_bins:
            np.testing.assert_array_equal(a.c2(int(label)), b.c2(int(label)))
        np.testing.assert_array_equal(a.twotime_g2, b.twotime_g2)
        assert a.twotime_stride_frame == b.twotime_stride_frame


def test_round_trip_of_independently_built_file(tmp_path):
    src = tmp_path / "in.h5"
    build_nexus(src)
    out = tmp_path / "out.h5"
    with xpcs_core.open_result(src) as a:
        write_result(out, a.to_data())
        with xpcs_core.open_result(out) as b:
            _assert_same_result(a, b, exact=False)
            assert b.qmap.map_names == ("q", "phi")
            assert b.metadata["instrument"]["detector_1"]["frame_time"].unit == "s"
    # writing what was read back gives the same file contents again
    out2 = tmp_path / "out2.h5"
    with xpcs_core.open_result(out) as b:
        write_result(out2, b.to_data())
    with xpcs_core.open_result(out) as b, xpcs_core.open_result(out2) as c:
        _assert_same_result(b, c)
        assert b.qmap.hash == c.qmap.hash


def test_legacy_converts_to_nexus(tmp_path):
    src = tmp_path / "legacy.h5"
    e = build_legacy(src)
    out = tmp_path / "nexus.h5"
    with xpcs_core.open_result(src) as a:
        write_result(out, a.to_data())
    with xpcs_core.open_result(out) as b:
        assert b.layout == "nexus"
        np.testing.assert_array_equal(b.g2[:, [0, 1, 3]], e["g2"])
        np.testing.assert_allclose(b.tau, e["tau"])
        np.testing.assert_array_equal(b.dynamic_q, [0.01, 0.01, 0.02, 0.02])
        assert b.detector_distance == pytest.approx(5.0)
        s = b.summary()
        assert s["n_dynamic_bins"] == 3 and s["twotime_bins"] == [1, 4]
        np.testing.assert_array_equal(np.triu(b.c2(4)), e["c2_upper"][0])


def test_layout_on_disk(tmp_path):
    data = make_synthetic(SyntheticSpec.for_shape((96, 128), n_frames=3000, twotime=True, twotime_frames=100))
    out = tmp_path / "syn.h5"
    write_result(out, data)
    with h5py.File(out, "r") as f:
        g2 = f["/xpcs/multitau/normalized_g2"]
        assert g2.dtype == np.float32 and g2.shape == data.multitau.g2.shape
        assert f["/xpcs/multitau/normalized_g2_err"].dtype == np.float32
        assert f["/xpcs/multitau/delay_list"].dtype.kind == "i"
        assert f["/xpcs/multitau/config/stride_frame"][()] == 1
        assert f["/xpcs/multitau/config/analysis_type"].dtype.kind == "S"
        saxs = f["/xpcs/temporal_mean/scattering_2d"]
        assert saxs.shape == (1, 96, 128) and saxs.dtype == np.float32
        assert saxs.compression == "lzf" and saxs.chunks == (1, 96, 128)
        assert f["/xpcs/temporal_mean/scattering_1d"].shape == (1, data.qmap.static.n_labels)
        assert f["/xpcs/temporal_mean/scattering_1d"].compression is None  # small: plain
        assert f["/xpcs/spatial_mean/intensity_vs_time"].shape == (2, 3000)
        c2 = f["/xpcs/twotime/correlation_map/c2_00001"]
        assert c2.dtype == np.float32 and c2.compression == "lzf" and c2.chunks == c2.shape
        stored = c2[()]
        assert np.all(np.tril(stored, -1) == 0) and np.all(stored[np.triu_indices(100)] != 0)
        assert f["/xpcs/twotime/processed_bins"][()].tolist() == data.twotime.processed_bins.tolist()
        q = f["/xpcs/qmap"]
        assert q["map_names"][()].tolist() == [b"q", b"phi"]
        assert q["map_units"].dtype.kind == "S"
        assert q["dynamic_roi_map"].compression == "lzf"
        assert q["dynamic_v_list_dim0"].attrs["unit"] == b"1/A"
        assert len(q.attrs["hash"]) == 64
        assert f["/entry/start_time"].dtype.kind == "S"
        assert f["/entry/instrument/detector_1/frame_time"].attrs["units"] == b"s"
        assert f["/entry/instrument/incident_beam/incident_energy"][()] == 10.0
        # nothing but the output in the directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syn.h5"]


def test_interrupted_write_leaves_nothing_and_keeps_old_file(tmp_path, monkeypatch):
    src = tmp_path / "in.h5"
    build_nexus(src)
    out = tmp_path / "out.h5"
    out.write_bytes(b"old contents")
    before = _digest(src)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_module, "_write_twotime", boom)
    with xpcs_core.open_result(src) as r, pytest.raises(KeyboardInterrupt):
        write_result(out, r.to_data())
    assert out.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.h5", "out.h5"]
    assert _digest(src) == before


def test_refuses_inconsistent_data(tmp_path):
    data = make_synthetic(SyntheticSpec.for_shape((48, 48), n_frames=200, n_segments=0))
    data.multitau.g2 = data.multitau.g2[:-1]
    with pytest.raises(XpcsInputError, match="multitau.g2: shape"):
        write_result(tmp_path / "x.h5", data)
    data = make_synthetic(SyntheticSpec.for_shape((48, 48), n_frames=200, n_segments=0))
    data.saxs_2d = np.zeros((H, W))
    with pytest.raises(XpcsInputError, match="saxs_2d"):
        write_result(tmp_path / "x.h5", data)
    assert not list(tmp_path.iterdir())


def test_overwrite_false(tmp_path):
    out = tmp_path / "x.h5"
    out.write_bytes(b"keep")
    data = make_synthetic(SyntheticSpec.for_shape((48, 48), n_frames=200))
    with pytest.raises(XpcsInputError, match="exists"):
        write_result(out, data, overwrite=False)
    assert out.read_bytes() == b"keep"


def test_unnormalized_link_is_written_as_external_link(tmp_path):
    data = make_synthetic(SyntheticSpec.for_shape((32, 32), n_frames=100, n_segments=0))
    n_tau = data.multitau.delay_list.size
    side = tmp_path / "x_G2.hdf"
    values = np.ones((n_tau, 3, 32, 32), np.float32)
    with h5py.File(side, "w") as f:
        f["G2IPIF"] = values
    data.multitau.unnormalized_link = (side.name, "/G2IPIF")
    write_result(tmp_path / "x.hdf", data)
    with h5py.File(tmp_path / "x.hdf", "r") as f:
        link = f.get("/xpcs/multitau/unnormalized_G2", getlink=True)
        assert isinstance(link, h5py.ExternalLink) and link.filename == "x_G2.hdf"
    with xpcs_core.open_result(tmp_path / "x.hdf") as r:
        np.testing.assert_array_equal(r.unnormalized(), values)

"""The files ``xc.correlate`` writes (docs/file-format.md): every key, the per-pixel sums
file and its external link, regroup, frames/stride/avg, atomic output, cancel, memmap."""

from __future__ import annotations

import threading

import h5py
import numpy as np
import pytest

import xpcs_core as xc
from xpcs_core.correlation.twotime import XpcsResourceWarning
from xpcs_core.errors import XpcsCancelled, XpcsFormatError, XpcsInputError
from xpcs_core.kernels.multitau import multitau
from xpcs_core.correlation.rawsim import simulate_raw

H, W, DT = 16, 20, 2e-3

MULTITAU_KEYS = [
    "/xpcs/multitau/normalized_g2", "/xpcs/multitau/normalized_g2_err", "/xpcs/multitau/delay_list",
    "/xpcs/multitau/config/stride_frame", "/xpcs/multitau/config/avg_frame",
    "/xpcs/multitau/config/analysis_type", "/xpcs/multitau/normalized_g2_partial",
    "/xpcs/multitau/normalized_g2_partial_err", "/xpcs/multitau/normalized_g2_partial_labels",
    "/xpcs/multitau/unnormalized_G2",
]
COMMON_KEYS = [
    "/xpcs/temporal_mean/scattering_2d", "/xpcs/temporal_mean/scattering_1d",
    "/xpcs/temporal_mean/scattering_1d_segments", "/xpcs/spatial_mean/intensity_vs_time",
    "/xpcs/rawdata_path", "/entry/instrument/detector_1/frame_time",
    "/entry/instrument/detector_1/count_time", "/entry/instrument/incident_beam/incident_energy",
    "/entry/instrument/detector_1/x_pixel_size", "/entry/instrument/detector_1/y_pixel_size",
    "/entry/instrument/detector_1/distance", "/entry/start_time",
    "/xpcs/qmap/dynamic_roi_map", "/xpcs/qmap/static_roi_map", "/xpcs/qmap/mask",
    "/xpcs/qmap/dynamic_index_mapping", "/xpcs/qmap/static_v_list_dim0", "/xpcs/qmap/beam_center_x",
]
TWOTIME_KEYS = [  # the APS viewer refuses a two-time file without any of these
    "/xpcs/twotime/correlation_map/c2_00001", "/xpcs/twotime/correlation_map/c2_00002",
    "/xpcs/twotime/processed_bins", "/xpcs/twotime/normalized_g2", "/xpcs/twotime/normalized_g2_segments",
    "/xpcs/twotime/delay_list", "/xpcs/twotime/config/stride_frame", "/xpcs/twotime/config/avg_frame",
]


def _geometry(shape=(H, W)):
    return xc.Geometry(energy_kev=10.0, distance_m=5.0, pixel_size_m=75e-6, beam_center_x=-4.0,
                       beam_center_y=3.0, shape=shape)


@pytest.fixture(scope="module")
def frames():
    return np.random.default_rng(2).poisson(1.5, size=(400, H, W)).astype(np.uint16)


@pytest.fixture(scope="module")
def parts():
    mask = np.ones((H, W), bool)
    mask[5, :] = False
    a = xc.make_partition(_geometry(), mask, dynamic=(4, 1), static=(12, 1), backend="numpy")
    b = xc.make_partition(_geometry(), mask, dynamic=(3, 2), static=(6, 4), backend="numpy")
    return a, b


def _keys(path):
    found = set()
    with h5py.File(path) as f:
        f.visit_links(lambda name: found.add("/" + name))
    return found


def test_every_key_written_and_readable(tmp_path, frames, parts):
    out = tmp_path / "res.h5"
    report = xc.correlate(frames, parts[0], out, mode="both", bins=[1, 3], segments=2, frame_time=DT,
                          save_g2ipif=True, bad_frames=[7], backend="numpy")
    keys = _keys(out)
    missing = [k for k in MULTITAU_KEYS + COMMON_KEYS + TWOTIME_KEYS if k not in keys]
    assert not missing
    with xc.open_result(out) as r:
        assert r.analysis == ["multitau", "twotime"] and r.unnormalized_status == "present"
        assert r.frame_time == DT and r.tau[0] == DT and list(r.twotime_bins) == [1, 3]
        assert r.rawdata_path == "<array>" and r.n_frames == 400
        g2ipif = r.unnormalized()
        assert g2ipif.shape == (r.delay_list.size, 3, H, W) and g2ipif.dtype == np.float32
        assert np.isnan(g2ipif[:, :, 5]).all() and np.isfinite(g2ipif[:, :, 6]).all()  # masked row
        assert r.twotime_g2_segments.shape == (2, 200, 2)
    with h5py.File(out) as f:
        link = f.get("/xpcs/multitau/unnormalized_G2", getlink=True)
        assert isinstance(link, h5py.ExternalLink) and link.filename == "res_G2.hdf" and link.path == "/G2IPIF"
        assert list(f["/xpcs/spatial_mean/bad_frames"][()]) == [7]
        assert f["/xpcs/multitau/config/bad_frames_method"][()] == b"list"
    assert report.g2ipif == tmp_path / "res_G2.hdf"


def test_per_pixel_sums_match_the_reference_kernel(tmp_path, frames, parts):
    out = tmp_path / "sums.h5"
    xc.correlate(frames, parts[0], out, frame_time=DT, save_g2ipif=True, chunk=7, backend="numpy")
    with xc.open_result(out) as r:
        got = r.unnormalized().reshape(r.delay_list.size, 3, -1)
        delays = r.delay_list
    pixels = np.flatnonzero(parts[0].static.labels.reshape(-1) > 0)
    ref = multitau(np, frames.reshape(400, -1)[:, pixels].astype(np.float64))
    np.testing.assert_array_equal(ref["delays"], delays)
    for j, name in enumerate(("G2", "IP", "IF")):
        np.testing.assert_allclose(got[:, j, pixels], ref[name], rtol=2e-7)


def test_bad_frames_join_no_pair(tmp_path, frames, parts):
    """Level 0 by brute force: a pair counts only when both frames are good."""
    out = tmp_path / "bad.h5"
    bad = [5, 40, 41, 200]
    xc.correlate(frames, parts[0], out, frame_time=DT, save_g2ipif=True, bad_frames=bad, backend="numpy")
    pixels = np.flatnonzero(parts[0].static.labels.reshape(-1) > 0)
    x = frames.reshape(400, -1)[:, pixels].astype(np.float64)
    good = np.ones(400, bool)
    good[bad] = False
    with xc.open_result(out) as r:
        got = r.unnormalized(slice(0, 8)).reshape(8, 3, -1)[:, :, pixels]
    for i, lag in enumerate(range(1, 9)):
        ok = good[:-lag] & good[lag:]
        np.testing.assert_allclose(got[i, 0], (x[:-lag] * x[lag:])[ok].mean(axis=0), rtol=2e-7)
        np.testing.assert_allclose(got[i, 1], x[:-lag][ok].mean(axis=0), rtol=2e-7)
        np.testing.assert_allclose(got[i, 2], x[lag:][ok].mean(axis=0), rtol=2e-7)


def test_frames_stride_avg(tmp_path, frames, parts):
    out = tmp_path / "sel.h5"
    report = xc.correlate(frames, parts[0], out, frame_time=DT, frames="20:260", stride=2, avg=3,
                          save_g2ipif=True, backend="numpy")
    assert (report.frames_selected, report.frames_correlated) == (120, 40)
    pixels = np.flatnonzero(parts[0].static.labels.reshape(-1) > 0)
    x = frames[20:260:2].reshape(40, 3, -1)[:, :, pixels].mean(axis=1)
    ref = multitau(np, x)
    with xc.open_result(out) as r:
        assert (r.stride_frame, r.avg_frame) == (2, 3)
        assert r.tau[0] == pytest.approx(DT * 6)
        np.testing.assert_allclose(r.unnormalized().reshape(-1, 3, H * W)[:, 0, pixels], ref["G2"], rtol=2e-7)
        assert r.intensity_vs_time[0, :3].tolist() == [20, 22, 24]
        assert r.multitau_config["frame_begin"] == 20 and r.multitau_config["frame_end"] == 260


def test_float_frames_give_the_same_result(frames, parts):
    a = xc.correlate(frames, parts[0], frame_time=DT, backend="numpy").data.multitau.g2
    b = xc.correlate(frames.astype(np.float32), parts[0], frame_time=DT, backend="numpy").data.multitau.g2
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_regroup_equals_correlating_with_the_other_partition(tmp_path, frames, parts):
    a, b = parts
    src = tmp_path / "a.h5"
    xc.correlate(frames, a, src, frame_time=DT, save_g2ipif=True, backend="numpy")
    sub = tmp_path / "sub"
    sub.mkdir()
    regrouped = xc.regroup(src, b, sub / "b_regrouped.h5")
    direct = xc.correlate(frames, b, frame_time=DT, backend="numpy").data
    np.testing.assert_allclose(regrouped.multitau.g2, direct.multitau.g2, rtol=1e-6)
    np.testing.assert_allclose(regrouped.multitau.g2_err, direct.multitau.g2_err, rtol=1e-4)
    np.testing.assert_allclose(regrouped.saxs_1d, direct.saxs_1d, rtol=1e-6)
    with xc.open_result(sub / "b_regrouped.h5") as r:
        assert r.qmap.dynamic.n_labels == b.dynamic.n_labels
        assert r.unnormalized_status == "present"  # the link points back to ../a_G2.hdf
        np.testing.assert_allclose(r.g2, direct.multitau.g2, rtol=1e-6)
    xc.correlate(frames, a, tmp_path / "plain.h5", frame_time=DT, backend="numpy")
    with pytest.raises(XpcsFormatError, match="per-pixel sums"):
        xc.regroup(tmp_path / "plain.h5", b)


def test_synthetic_twotime_file_carries_segments(tmp_path):
    from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

    path = tmp_path / "syn.h5"
    write_synthetic(path, spec=SyntheticSpec.for_shape((64, 64), twotime=True, n_frames=2000))
    keys = _keys(path)
    assert {"/xpcs/twotime/normalized_g2_segments", "/xpcs/twotime/processed_bins",
            "/xpcs/twotime/config/stride_frame", "/xpcs/twotime/config/avg_frame"} <= keys


def test_twotime_on_disk_over_the_memory_budget(tmp_path, frames, parts):
    in_memory = xc.correlate(frames, parts[0], mode="twotime", frame_time=DT, backend="numpy")
    with pytest.warns(XpcsResourceWarning) as caught:
        on_disk = xc.correlate(frames, parts[0], tmp_path / "tt.h5", mode="twotime", frame_time=DT,
                               backend="numpy", memory_budget=100_000)
    messages = [str(w.message) for w in caught]
    assert any("C2 map of 400 x 400 frames needs 1.8 MiB" in m for m in messages)
    assert any("kept on disk" in m for m in messages) and on_disk.warnings == messages
    for m1, m2 in zip(in_memory.data.twotime.c2_maps, on_disk.data.twotime.c2_maps, strict=True):
        np.testing.assert_array_equal(m1, m2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tt.h5"]  # scratch removed


def test_cancel_and_errors_leave_no_output(tmp_path, frames, parts):
    cancel = threading.Event()
    out = tmp_path / "res.h5"
    with pytest.raises(XpcsCancelled):
        xc.correlate(frames, parts[0], out, frame_time=DT, chunk=16, cancel=cancel, save_g2ipif=True,
                     progress=lambda done, total: cancel.set(), backend="numpy")
    bad = frames.astype(np.float32)
    bad[300, 10, 10] = np.nan  # found only after most of the work
    with pytest.raises(XpcsFormatError, match="frame 300 holds NaN"):
        xc.correlate(bad, parts[0], out, frame_time=DT, save_g2ipif=True, backend="numpy")
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_refused_before_any_work(tmp_path, frames, parts):
    calls = []
    kw = dict(frame_time=DT, backend="numpy", progress=lambda d, t: calls.append(d))
    with pytest.raises(XpcsInputError, match="does not exist"):
        xc.correlate(frames, parts[0], tmp_path / "no" / "r.h5", **kw)
    raw = tmp_path / "raw.npy"
    np.save(raw, frames)
    with pytest.raises(XpcsInputError, match="is the same file as the input RAW"):
        xc.correlate(raw, parts[0], raw, **kw)
    with pytest.raises(XpcsInputError, match="no frame time"):
        xc.correlate(raw, parts[0])
    other = xc.make_partition(_geometry((H, W + 1)), dynamic=(2, 1), static=(4, 1), backend="numpy")
    with pytest.raises(XpcsInputError, match="do not match the q-map"):
        xc.correlate(frames, other, **kw)
    for bad in (dict(mode="nope"), dict(segments=0), dict(bins="0"), dict(bad_frames="x,y"),
                dict(bad_frames=[500]), dict(mode="twotime", bins="99")):
        with pytest.raises(XpcsInputError):
            xc.correlate(frames, parts[0], **bad, **kw)
    assert calls == []


def test_rawsim_is_deterministic_and_writes_eiger_layout(tmp_path):
    a = simulate_raw(tmp_path / "a", shape=(16, 16), n_frames=64, n_bad=2, seed=3)
    b = simulate_raw(tmp_path / "b", shape=(16, 16), n_frames=64, n_bad=2, seed=3, frames_per_file=25)
    assert a["bad_frames"] == b["bad_frames"] and len(b["data_files"]) == 3
    with h5py.File(a["raw"]) as fa, h5py.File(b["raw"]) as fb:
        assert fa["entry/instrument/detector/frame_time"][()] == 1e-3
        stack = np.concatenate([fb[f"entry/data/data_{k:06d}"][()] for k in (1, 2, 3)])
        np.testing.assert_array_equal(fa["entry/data/data"][()], stack)
    ra = xc.correlate(a["raw"], a["qmap"], backend="numpy", bad_frames="auto")
    rb = xc.correlate(b["raw"], b["qmap"], backend="numpy", bad_frames="auto")
    np.testing.assert_array_equal(ra.data.multitau.g2, rb.data.multitau.g2)
    c = simulate_raw(tmp_path / "c", shape=(16, 16), n_frames=64, seed=4)
    with h5py.File(a["raw"]) as fa, h5py.File(c["raw"]) as fc:
        assert not np.array_equal(fa["entry/data/data"][()], fc["entry/data/data"][()])


def test_a_listed_bad_frame_may_hold_nan(frames, parts):
    floats = frames.astype(np.float32)
    floats[30] = np.nan
    listed = xc.correlate(floats, parts[0], frame_time=DT, bad_frames=[30], backend="numpy")
    auto = xc.correlate(floats, parts[0], frame_time=DT, bad_frames="auto", backend="numpy")
    ref = xc.correlate(frames, parts[0], frame_time=DT, bad_frames=[30], backend="numpy")
    assert auto.bad_frames == [30]
    for r in (listed, auto):
        np.testing.assert_allclose(r.data.multitau.g2, ref.data.multitau.g2, rtol=1e-12)
        assert np.isfinite(r.data.saxs_2d).all()


@pytest.mark.parametrize("pixels", ["all", "runs", "scattered"])
def test_gather_paths_agree(pixels):
    from xpcs_core.correlation import gather

    rng = np.random.default_rng(4)
    flat = rng.integers(0, 65535, size=(9, 600), dtype=np.uint16)
    pix = {"all": np.arange(600), "runs": np.r_[0:200, 300:600],
           "scattered": np.sort(rng.choice(600, 150, replace=False))}[pixels]
    valid = np.ones(9, bool)
    valid[4] = False
    g = gather.Gather(pix, 600)
    sums = np.zeros(600)
    x, totals = g.chunk(flat, valid, sums)
    np.testing.assert_array_equal(x, flat[:, pix])
    np.testing.assert_array_equal(totals, flat[:, pix].sum(axis=1, dtype=np.float64))
    np.testing.assert_array_equal(sums, flat[valid].sum(axis=0, dtype=np.float64))
    np.testing.assert_array_equal(g.totals(flat), totals)


def test_gather_sums_do_not_overflow(monkeypatch):
    from xpcs_core.correlation import gather

    monkeypatch.setattr(gather, "_U32_ROWS", 3)  # flush the 32-bit sums every 3 frames
    flat = np.full((10, 8), 65535, dtype=np.uint16)
    sums = np.zeros(8)
    gather.Gather(np.arange(8), 8).chunk(flat, np.ones(10, bool), sums)
    np.testing.assert_array_equal(sums, np.full(8, 10 * 65535.0))

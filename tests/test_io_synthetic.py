"""Synthetic result files: real shapes, both layouts, a recoverable diffusion coefficient."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from scipy.optimize import curve_fit

import xpcs_core
from xpcs_core.io.synthetic import SyntheticSpec, make_synthetic, multitau_delays, write_synthetic

SMALL = {"n_frames": 4000, "twotime_frames": 100}


def test_multitau_lags_follow_physics_md():
    lags = multitau_delays(10_000)
    assert lags[:20].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64]
    assert lags[-1] == 8192 and np.all(np.diff(lags) > 0)
    # level 4 (x16) keeps 6 frames of 100: lag 80 < 96 fits, lag 96 does not
    assert multitau_delays(100).tolist()[-3:] == [56, 64, 80]
    assert multitau_delays(5).tolist() == [1, 2, 3, 4]


def test_seeded_and_shapes():
    a = make_synthetic(SyntheticSpec.for_shape((64, 80), seed=3, **SMALL))
    b = make_synthetic(SyntheticSpec.for_shape((64, 80), seed=3, **SMALL))
    c = make_synthetic(SyntheticSpec.for_shape((64, 80), seed=4, **SMALL))
    np.testing.assert_array_equal(a.multitau.g2, b.multitau.g2)
    assert not np.array_equal(a.multitau.g2, c.multitau.g2)
    n_dyn = a.qmap.dynamic.n_labels
    assert a.multitau.g2.shape == (multitau_delays(4000).size, n_dyn) == a.multitau.g2_err.shape
    assert a.saxs_2d.shape == (64, 80) and a.intensity_vs_time.shape == (2, 4000)
    assert a.saxs_1d.shape == (a.qmap.static.n_labels,)
    assert n_dyn == 12  # the default 12 q bins are all populated on a small detector
    a.qmap.validate()  # static bins nest in dynamic bins
    q = a.qmap.dynamic.label_centres()[:, 0]
    assert 0.002 < q.min() and q.max() < 0.03


def test_diffusion_coefficient_is_recoverable():
    spec = SyntheticSpec.for_shape((128, 128), diffusion=2e5, seed=1)
    data = make_synthetic(spec)
    tau = data.multitau.delay_list * spec.frame_time
    q = data.qmap.dynamic.label_centres()[:, 0]
    rates = []
    for j in range(q.size):
        popt, _ = curve_fit(
            lambda t, b, c, g: b + c * np.exp(-2 * g * t),
            tau,
            data.multitau.g2[:, j],
            p0=(1.0, 0.2, 1.0 / tau[len(tau) // 2]),
            sigma=data.multitau.g2_err[:, j],
        )
        rates.append(popt[2])
    slope = np.polyfit(q**2, np.array(rates), 1, w=1 / q**2)[0]
    assert slope == pytest.approx(2e5, rel=0.1)
    # the decays fall inside the delay window
    assert np.all(1 / (2e5 * q**2) > tau[0]) and np.all(1 / (2e5 * q**2) < tau[-1])


def test_both_layouts_read_the_same(tmp_path):
    spec = SyntheticSpec.for_shape((64, 64), n_phi=2, twotime=True, **SMALL)
    write_synthetic(tmp_path / "n.h5", "nexus", spec)
    write_synthetic(tmp_path / "l.h5", "legacy", spec)
    with xpcs_core.open_result(tmp_path / "n.h5") as n, xpcs_core.open_result(tmp_path / "l.h5") as leg:
        assert (n.layout, leg.layout) == ("nexus", "legacy")
        cols = n.qmap.dynamic.index_mapping  # legacy columns are natural bins
        np.testing.assert_allclose(n.g2, leg.g2[:, cols], rtol=1e-6)  # NeXus stores float32
        np.testing.assert_allclose(n.g2_err, leg.g2_err[:, cols], rtol=1e-6)
        np.testing.assert_allclose(n.tau, leg.tau)
        np.testing.assert_allclose(n.dynamic_q, leg.dynamic_q[cols])
        np.testing.assert_allclose(n.dynamic_phi, leg.dynamic_phi[cols])
        np.testing.assert_array_equal(n.saxs_2d, leg.saxs_2d)
        sn, sl = n.summary(), leg.summary()
        for key in (
            "detector_shape",
            "n_frames",
            "frame_time_s",
            "energy_kev",
            "beam_center_x",
            "beam_center_y",
            "n_dynamic_bins",
            "n_static_bins",
            "q_range",
            "tau_range_s",
            "n_tau",
        ):
            assert sn[key] == pytest.approx(sl[key]), key
        assert sn["distance_m"] == pytest.approx(sl["distance_m"])
        assert [int(cols[b - 1]) + 1 for b in sn["twotime_bins"]] == sl["twotime_bins"]
        label = int(n.twotime_bins[0])
        np.testing.assert_array_equal(n.c2(label), leg.c2(int(cols[label - 1]) + 1))


def test_twotime_maps_are_consistent(tmp_path):
    spec = SyntheticSpec.for_shape((48, 48), twotime=True, **SMALL)
    write_synthetic(tmp_path / "t.h5", spec=spec)
    with xpcs_core.open_result(tmp_path / "t.h5") as r:
        assert r.analysis == ["multitau", "twotime"]
        assert 1 <= len(r.twotime_bins) <= 3
        for i, label in enumerate(r.twotime_bins):
            c2 = r.c2(int(label))
            assert c2.shape == (100, 100)
            np.testing.assert_array_equal(c2, c2.T)
            diag = [np.diagonal(c2, k).mean() for k in range(5)]
            np.testing.assert_allclose(r.twotime_g2[:5, i], diag, rtol=1e-5)
            assert diag[0] > diag[4] > 0.9  # decays
        assert r.twotime_stride_frame == 40


def test_legacy_file_has_legacy_keys(tmp_path):
    write_synthetic(tmp_path / "l.h5", "legacy", SyntheticSpec.for_shape((32, 32), **SMALL))
    with h5py.File(tmp_path / "l.h5", "r") as f:
        for key in (
            "/xpcs/Version",
            "/xpcs/dqmap",
            "/xpcs/sqlist",
            "/exchange/norm-0-g2",
            "/exchange/tau",
            "/exchange/pixelSum",
            "/exchange/frameSum",
            "/exchange/partition-mean-total",
            "/measurement/instrument/detector/exposure_period",
            "/measurement/instrument/source_begin/energy",
        ):
            assert key in f, key
        assert f["/exchange/tau"].shape[0] == 1

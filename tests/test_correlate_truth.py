"""``xc.correlate`` on simulated Brownian speckle recovers the known g2 and D
(docs/physics.md, "Ground truth for tests"); bad frames, segments, two-time."""

from __future__ import annotations

import numpy as np
import pytest

import xpcs_core as xc
from xpcs_core.correlation.rawsim import expected_g2, simulate_raw

D, BETA, RATE, DT, N_FRAMES, N_BAD = 1e5, 0.3, 1.0, 1e-3, 2000, 16
SIM = dict(shape=(64, 64), n_frames=N_FRAMES, rate=RATE, contrast=BETA, diffusion=D, frame_time=DT, seed=5)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """The same speckle twice: clean, and with 16 bad frames (x20 / zeroed) injected."""
    root = tmp_path_factory.mktemp("sim")
    clean = simulate_raw(root / "clean", **SIM)
    bad = simulate_raw(root / "bad", n_bad=N_BAD, **SIM)
    part = xc.read_qmap(clean["qmap"])
    q = xc.compute_qmap(part.geometry, backend="numpy")["q"]
    return {"clean": clean, "bad": bad, "part": part, "q": q, "root": root}


@pytest.fixture(scope="module")
def clean_run(sim):
    out = sim["root"] / "clean.h5"
    report = xc.correlate(sim["clean"]["raw"], sim["clean"]["qmap"], out, mode="both", bins="8,10,11",
                          segments=2, backend="numpy")
    return report


def _well_sampled(part, n_pairs):
    """Bins whose field decays many times within the run (else the time averages that
    normalize g2 are not converged: a known bias of the estimator), lags with >= 50 pairs."""
    q = part.dynamic.label_centres()[:, 0]
    return D * q**2 * N_FRAMES * DT > 20, n_pairs >= 50


def test_g2_matches_truth_within_errors(sim, clean_run):
    mt = clean_run.data.multitau
    truth = expected_g2(sim["part"], sim["q"], D, BETA, mt.delay_list, DT)
    bins, lags = _well_sampled(sim["part"], mt.config["valid_pairs"])
    assert bins.sum() >= 4 and lags.sum() >= 25
    z = ((mt.g2 - truth) / mt.g2_err)[np.ix_(lags, bins)]
    assert np.abs(z).max() < 5, z
    assert abs(z.mean()) < 2
    # the contrast: g2(first lag) - 1 of the fastest bin is beta exp(-2 Gamma dt)
    assert truth[0, -1] - 1 == pytest.approx(BETA * np.exp(-2 * D * sim["q"].max() ** 2 * DT), rel=0.3)


def test_fit_of_written_file_recovers_D(clean_run):
    fit = xc.fit_g2(str(clean_run.output), backend="numpy")
    assert fit.tauq is not None
    assert fit.tauq.D_A2_per_s == pytest.approx(D, rel=0.05)
    assert fit.tauq.free.alpha == pytest.approx(2.0, abs=0.1)


def test_twotime_diagonals_agree_with_multitau(clean_run):
    mt, tt = clean_run.data.multitau, clean_run.data.twotime
    assert list(tt.processed_bins) == [8, 10, 11]
    for j, label in enumerate(tt.processed_bins):
        diff = tt.g2[1:9, j] - mt.g2[:8, label - 1]  # two-time row k = lag k frames
        assert np.all(np.abs(diff) < 3 * mt.g2_err[:8, label - 1]), diff
    assert tt.g2[0, 0] > tt.g2[1, 0] > 1  # lag 0 carries the Poisson term


def test_auto_bad_frames_found_and_exclusion_restores_clean_g2(sim):
    raw_bad, part = sim["bad"]["raw"], sim["part"]
    injected = sim["bad"]["bad_frames"]
    auto = xc.correlate(raw_bad, part, bad_frames="auto", backend="numpy")
    assert auto.bad_frames == injected and auto.frames_excluded == N_BAD
    assert "> 6" in auto.bad_frames_method  # the threshold is stated
    included = xc.correlate(raw_bad, part, backend="numpy")
    clean = xc.correlate(sim["clean"]["raw"], part, backend="numpy")
    clean_same = xc.correlate(sim["clean"]["raw"], part, bad_frames=injected, backend="numpy")
    g_auto, g_in, g_clean = (r.data.multitau for r in (auto, included, clean))
    # the good frames are the same in both files: excluding the bad ones gives the clean answer exactly
    np.testing.assert_array_equal(g_auto.g2, clean_same.data.multitau.g2)
    np.testing.assert_array_equal(auto.data.saxs_1d, clean_same.data.saxs_1d)
    # ... close to the clean file with every frame, while keeping the bad frames is far off
    assert np.nanmax(np.abs(g_auto.g2 - g_clean.g2) / g_clean.g2_err) < 4
    assert np.nanmax(np.abs(g_in.g2 - g_clean.g2) / g_clean.g2_err) > 8
    saxs_shift = np.abs(included.data.saxs_1d / clean.data.saxs_1d - 1)
    assert np.nanmedian(saxs_shift) > 0.05 > np.nanmax(np.abs(auto.data.saxs_1d / clean.data.saxs_1d - 1))
    # intensity vs time keeps every frame (the bad ones visible), the bad list marks them
    ivt = auto.data.intensity_vs_time
    assert ivt.shape == (2, N_FRAMES)
    kinds = dict(zip(injected, sim["bad"]["bad_frame_kinds"], strict=True))
    for t in injected:
        assert (ivt[1, t] > 10 * np.median(ivt[1])) if kinds[t] == "x20" else ivt[1, t] == 0
    np.testing.assert_array_equal(auto.data.bad_frames, injected)


def test_user_list_and_file_of_bad_frames(sim, tmp_path):
    injected = sim["bad"]["bad_frames"]
    text = ",".join(map(str, injected))
    listed = xc.correlate(sim["bad"]["raw"], sim["part"], bad_frames=text, backend="numpy", frames="0:600")
    assert listed.bad_frames == [t for t in injected if t < 600]
    path = tmp_path / "bad.txt"
    path.write_text("# bad frames\n" + "\n".join(map(str, injected)) + "\n")
    from_file = xc.correlate(sim["bad"]["raw"], sim["part"], bad_frames=str(path), backend="numpy",
                             frames="0:600")
    np.testing.assert_array_equal(listed.data.multitau.g2, from_file.data.multitau.g2)
    assert from_file.bad_frames_method.startswith("file:")


def test_segments_equal_correlating_each_part_alone(sim, clean_run):
    data = clean_run.data
    mt = data.multitau
    assert mt.g2_segments.shape == (2, mt.delay_list.size, mt.g2.shape[1])
    assert mt.g2_segments_labels == ["frames 0-999", "frames 1000-1999"]
    for k, (lo, hi) in enumerate([(0, 1000), (1000, 2000)]):
        alone = xc.correlate(sim["clean"]["raw"], sim["part"], frames=f"{lo}:{hi}", backend="numpy").data
        n = alone.multitau.delay_list.size
        np.testing.assert_array_equal(mt.delay_list[:n], alone.multitau.delay_list)
        np.testing.assert_allclose(mt.g2_segments[k, :n], alone.multitau.g2, rtol=1e-12)
        assert np.isnan(mt.g2_segments[k, n:]).all()  # lags a segment is too short for
        np.testing.assert_allclose(data.saxs_1d_segments[k], alone.saxs_1d, rtol=1e-12)
    tt = data.twotime
    assert tt.g2_segments.shape == (2, 1000, 3)
    c2 = tt.c2_maps[0]
    np.testing.assert_allclose(tt.g2_segments[1, 3, 0], np.mean(np.diagonal(c2[1000:, 1000:], 3)), rtol=1e-6)


def test_jax_backend_agrees_with_numpy():
    pytest.importorskip("jax")
    frames = np.random.default_rng(1).poisson(0.8, size=(600, 12, 10)).astype(np.uint16)
    part = xc.make_partition(_geometry((12, 10)), dynamic=(2, 1), static=(4, 1), backend="numpy")
    ref = xc.correlate(frames, part, frame_time=1e-3, backend="numpy", bad_frames=[3, 50, 51])
    out = xc.correlate(frames, part, frame_time=1e-3, backend="jax", bad_frames=[3, 50, 51])
    assert out.backend["backend"] == "jax"
    np.testing.assert_allclose(out.data.multitau.g2, ref.data.multitau.g2, rtol=1e-7, atol=1e-9)


def _geometry(shape):
    return xc.Geometry(energy_kev=10.0, distance_m=5.0, pixel_size_m=75e-6, beam_center_x=-5.0,
                       beam_center_y=-5.0, shape=shape)

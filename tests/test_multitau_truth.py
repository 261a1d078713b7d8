"""The streaming multi-tau accumulator against ground truth and against scikit-beam.

* Speckle with a known g2 = 1 + beta*exp(-2*Gamma*t) (``xpcs_core.speckle``) at a low
  count rate, through the sparse path: g2 per static-bin normalization
  (docs/physics.md "Multi-tau correlation") matches the truth within its errors.
* Injected garbage frames, flagged bad, are excluded: g2 agrees with the clean stack.
* scikit-beam's ``multi_tau_auto_corr`` (a test-only dependency) on the same frames and
  labels agrees to 1e-9 at every lag both compute at the same level (scikit-beam puts
  the lags 8*2^L one level higher, so those are left out).
"""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.backends import Backend
from xpcs_core.kernels.multitau import MultitauOptions, MultitauSums
from xpcs_core.speckle import g2_truth, simulate_frames

GAMMA = 60.0  # 1/s
DT = 1e-3  # s
MODES = 2  # contrast 0.5


def correlate(frames: np.ndarray, valid=None, path: str = "auto", chunk: int = 256,
              backend: str = "numpy") -> MultitauSums:
    acc = Backend(backend).call("xpcs_multitau_accumulator", n_pixels=frames.shape[1],
                                n_frames=frames.shape[0], options=MultitauOptions(path=path))
    for s in range(0, frames.shape[0], chunk):
        acc.update(frames[s : s + chunk], None if valid is None else valid[s : s + chunk])
    return acc.finish()


def binned_g2(out: MultitauSums, labels: np.ndarray, n_labels: int) -> np.ndarray:
    """g2 per label: <G2>_s / (<IP>_s <IF>_s), shape (n_tau, n_labels)."""
    cols = []
    for k in range(1, n_labels + 1):
        sel = labels == k
        cols.append(out.G2[:, sel].mean(1) / (out.IP[:, sel].mean(1) * out.IF[:, sel].mean(1)))
    return np.stack(cols, axis=1)


@pytest.fixture(scope="module")
def dim_speckle() -> np.ndarray:
    """0.05 photons per pixel per frame: the regime of the sparse path."""
    return simulate_frames(3000, GAMMA, DT, n_pix=3000, mean_rate=0.05, modes=MODES, seed=11,
                           dtype=np.uint16)


def test_sparse_path_recovers_known_g2(dim_speckle):
    out = correlate(dim_speckle)
    assert out.path == "sparse"
    g2 = binned_g2(out, np.ones(dim_speckle.shape[1], int), 1)[:, 0]
    truth = g2_truth(out.delays * DT, GAMMA, MODES)
    # error of the bin average: relative noise ~ 1/(rate*sqrt(n_pix*n_pairs))
    err = 1.0 / (0.05 * np.sqrt(dim_speckle.shape[1] * out.n_pairs))
    usable = out.n_pairs > 200
    z = (g2[usable] - truth[usable]) / err[usable]
    assert np.all(np.abs(z) < 5), z
    assert g2[0] > 1.3 and abs(g2[-1] - 1.0) < 0.1  # it decays from 1 + beta to 1


def test_excluding_bad_frames_restores_clean_g2():
    frames = simulate_frames(2000, GAMMA, DT, n_pix=600, mean_rate=5.0, modes=MODES, seed=5)
    rng = np.random.default_rng(1)
    bad = np.sort(rng.choice(np.arange(20, 1980), 40, replace=False))
    broken = frames.copy()
    broken[bad] = rng.poisson(500.0, size=(bad.size, frames.shape[1]))  # beam/shutter glitches
    valid = np.ones(len(frames), bool)
    valid[bad] = False
    clean = correlate(frames)
    fixed = correlate(broken, valid)
    spoiled = correlate(broken)
    ones = np.ones(frames.shape[1], int)
    g_clean, g_fixed, g_spoiled = (binned_g2(o, ones, 1)[:, 0] for o in (clean, fixed, spoiled))
    early = clean.delays < 100
    assert np.max(np.abs(g_fixed[early] - g_clean[early])) < 0.02
    assert np.max(np.abs(g_spoiled[early] - g_clean[early])) > 0.1  # the glitches do matter
    # level 0 loses the pairs with a bad frame; above, a frame with one good half stays good
    assert np.all(fixed.n_pairs[:8] < clean.n_pairs[:8])
    assert np.all(fixed.n_pairs <= clean.n_pairs)


def skbeam_lags_same_level(delays: np.ndarray) -> np.ndarray:
    """Lags both conventions compute at the same level: all but 8*2**L."""
    log = np.log2(delays / 8.0)
    return ~((delays >= 8) & np.isclose(log, np.round(log)))


@pytest.mark.parametrize("path", ["dense", "sparse"])
def test_agrees_with_scikit_beam(path):
    corr = pytest.importorskip("skbeam.core.correlation",
                               reason="scikit-beam (test-only dependency) is not installed")
    shape, n_frames = (16, 20), 700
    rng = np.random.default_rng(4)
    labels = np.zeros(shape, dtype=np.int64)
    labels[2:8, 2:18] = 1
    labels[9:15, 2:10] = 2
    labels[9:15, 11:19] = 3
    gamma = np.where(labels.ravel() == 2, 15.0, 40.0)
    rate = 0.4 if path == "sparse" else 6.0
    frames = simulate_frames(n_frames, gamma, DT, mean_rate=rate, modes=1, seed=9,
                             dtype=np.uint16).reshape(n_frames, *shape)
    num_levels = 8
    g2_sk, lags_sk = corr.multi_tau_auto_corr(num_levels, 8, labels, frames.astype(np.float64))
    out = correlate(frames.reshape(n_frames, -1), path=path, chunk=100)
    assert out.path == path
    ours = binned_g2(out, labels.ravel(), 3)
    common = [k for k, d in enumerate(out.delays) if skbeam_lags_same_level(out.delays)[k]
              and d in lags_sk]
    assert len(common) >= 25
    rows_sk = [int(np.flatnonzero(lags_sk == out.delays[k])[0]) for k in common]
    np.testing.assert_allclose(ours[common], g2_sk[rows_sk], rtol=1e-9, atol=0)


def test_jax_sums_match_numpy_on_speckle(dim_speckle):
    """The jax scan and the numba kernels: same sums on a realistic stack."""
    sub = dim_speckle[:1000, :500]
    a = correlate(sub, backend="numpy", chunk=77)
    b = correlate(sub, backend="jax", chunk=300)
    np.testing.assert_array_equal(a.delays, b.delays)
    for key in ("G2", "IP", "IF"):
        np.testing.assert_allclose(getattr(b, key), getattr(a, key), rtol=1e-11, atol=1e-14)

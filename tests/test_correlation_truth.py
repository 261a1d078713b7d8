"""Multi-tau (the streaming accumulator) and two-time recover the known g2 of simulated speckle."""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.backends import Backend
from xpcs_core.errors import XpcsInputError
from xpcs_core.kernels.multitau import MultitauOptions
from xpcs_core.speckle import g2_truth, simulate_frames

GAMMA = 40.0  # 1/s
DT = 1e-3  # s
MODES = 2  # contrast 0.5


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return simulate_frames(4000, GAMMA, DT, n_pix=400, mean_rate=20.0, modes=MODES, seed=3)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_multitau_recovers_known_g2(frames, backend):
    b = Backend(backend)
    acc = b.call("xpcs_multitau_accumulator", n_pixels=frames.shape[1], n_frames=frames.shape[0],
                 options=MultitauOptions())
    for start in range(0, frames.shape[0], 500):
        acc.update(frames[start : start + 500])
    out = acc.finish()
    g2_pix = out.G2 / (out.IP * out.IF)
    tau = out.delays * DT
    g2 = g2_pix.mean(axis=1)
    sem = g2_pix.std(axis=1) / np.sqrt(g2_pix.shape[1])
    truth = g2_truth(tau, GAMMA, MODES)
    # Poisson noise adds 1/I to the zero-lag term only; for lags >= 1 the estimate is unbiased
    usable = tau < 0.2
    z = (g2[usable] - truth[usable]) / np.maximum(sem[usable], 1e-3)
    assert np.all(np.abs(z) < 5), z
    assert abs(g2[0] - truth[0]) < 0.05
    assert truth[0] == pytest.approx(1 + 0.5 * np.exp(-2 * GAMMA * DT))


def test_twotime_diagonals_recover_known_g2(frames):
    b = Backend("numpy")
    c2 = b.to_numpy(b.call("xpcs_twotime", frames=frames[:600].astype(np.float64)))
    lags = np.arange(1, 40)
    g2 = np.array([np.diagonal(c2, offset=k).mean() for k in lags])
    np.testing.assert_allclose(g2, g2_truth(lags * DT, GAMMA, MODES), atol=0.05)


def test_simulator_validates_input():
    with pytest.raises(XpcsInputError):
        simulate_frames(1, 1.0, 1e-3, n_pix=3)
    with pytest.raises(XpcsInputError, match="n_pix"):
        simulate_frames(10, 1.0, 1e-3)

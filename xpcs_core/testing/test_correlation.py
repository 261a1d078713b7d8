"""Conformance: multi-tau and two-time correlation against direct NumPy computations.

The expected values are computed here by brute force from PHYSICS.md's definitions,
independently of any backend.
"""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.testing import assert_close, require_hook


def multitau_by_definition(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Lags 1..8 on raw frames, then m*2**L (m = 5..8) on frames pair-averaged L times."""
    delays, g2, ip, i_f = [], [], [], []
    level, data = 0, np.asarray(frames, dtype=np.float64)
    while True:
        n = data.shape[0]
        ms = range(1, 9) if level == 0 else range(5, 9)
        found = False
        for m in ms:
            if m >= n:
                continue
            found = True
            delays.append(m * 2**level)
            g2.append((data[:-m] * data[m:]).mean(axis=0))
            ip.append(data[:-m].mean(axis=0))
            i_f.append(data[m:].mean(axis=0))
        if not found and level > 0:
            break
        n2 = n // 2
        data = 0.5 * (data[0 : 2 * n2 : 2] + data[1 : 2 * n2 : 2])
        level += 1
    return {"delays": np.array(delays), "G2": np.array(g2), "IP": np.array(ip), "IF": np.array(i_f)}


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    rng = np.random.default_rng(42)
    rate = rng.gamma(2.0, 1.5, size=(1, 7))
    return rng.poisson(rate, size=(100, 7)).astype(np.float64)


def test_lag_list_of_the_definition(frames):
    expected = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80]
    assert multitau_by_definition(frames)["delays"].tolist() == expected


def test_multitau_matches_definition(xpcs_backend, frames, xpcs_exec_mode):
    require_hook(xpcs_backend, "xpcs_multitau")
    got = xpcs_backend.call("xpcs_multitau", frames=frames, n_levels=None)
    want = multitau_by_definition(frames)
    np.testing.assert_array_equal(xpcs_backend.to_numpy(got["delays"]), want["delays"])
    for key in ("G2", "IP", "IF"):
        assert_close(xpcs_backend.to_numpy(got[key]), want[key], "multitau_g2", err_msg=key)


def test_twotime_matches_definition(xpcs_backend, frames, xpcs_exec_mode):
    require_hook(xpcs_backend, "xpcs_twotime")
    got = xpcs_backend.to_numpy(xpcs_backend.call("xpcs_twotime", frames=frames))
    mean_t = frames.mean(axis=1)
    want = (frames @ frames.T / frames.shape[1]) / np.outer(mean_t, mean_t)
    assert_close(got, want, "multitau_g2")
    np.testing.assert_allclose(got, got.T, rtol=1e-12)

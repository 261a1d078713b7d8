"""Conformance: two-time correlation against a direct NumPy computation (docs/physics.md, "Two-time correlation").

The expected values are computed here by brute force from docs/physics.md's definitions,
independently of any backend.
"""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.testing import assert_close, require_hook


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    rng = np.random.default_rng(42)
    rate = rng.gamma(2.0, 1.5, size=(1, 7))
    return rng.poisson(rate, size=(100, 7)).astype(np.float64)


def test_twotime_matches_definition(xpcs_backend, frames, xpcs_exec_mode):
    require_hook(xpcs_backend, "xpcs_twotime")
    got = xpcs_backend.to_numpy(xpcs_backend.call("xpcs_twotime", frames=frames))
    mean_t = frames.mean(axis=1)
    want = (frames @ frames.T / frames.shape[1]) / np.outer(mean_t, mean_t)
    assert_close(got, want, "multitau_g2")
    np.testing.assert_allclose(got, got.T, rtol=1e-12)

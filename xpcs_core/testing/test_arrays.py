"""Conformance: Array-API namespace and device conversion."""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.testing import assert_close, require_hook


@pytest.fixture
def xp(xpcs_backend):
    require_hook(xpcs_backend, "xpcs_array_namespace")
    return xpcs_backend.xp


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint16, np.bool_])
def test_round_trip_keeps_values_and_dtype(xpcs_backend, dtype):
    require_hook(xpcs_backend, "xpcs_to_device")
    require_hook(xpcs_backend, "xpcs_to_numpy")
    rng = np.random.default_rng(0)
    host = (rng.random((7, 5)) * 1000).astype(dtype)
    back = xpcs_backend.to_numpy(xpcs_backend.to_device(host))
    assert isinstance(back, np.ndarray)
    assert back.dtype == host.dtype
    np.testing.assert_array_equal(back, host)


def test_to_device_casts(xpcs_backend):
    require_hook(xpcs_backend, "xpcs_to_device")
    out = xpcs_backend.to_numpy(xpcs_backend.to_device([1, 2, 3], dtype=np.float64))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])


def test_namespace_computes_in_float64(xpcs_backend, xp, xpcs_exec_mode):
    t = np.logspace(-6, 2, 200)
    tau = np.logspace(-5, 1, 50)
    expected = 1.0 + 0.25 * np.exp(-2.0 * t[:, None] / tau[None, :])
    t_d = xpcs_backend.to_device(t)
    tau_d = xpcs_backend.to_device(tau)
    got = 1.0 + 0.25 * xp.exp(-2.0 * t_d[:, None] / tau_d[None, :])
    got = xpcs_backend.to_numpy(got)
    assert got.dtype == np.float64, "backends compute in float64 by default"
    assert_close(got, expected, "multitau_g2")


def test_namespace_has_array_api_functions(xp):
    for name in ("asarray", "exp", "log", "sum", "mean", "matmul", "where", "searchsorted",
                 "zeros", "arange", "linspace", "sqrt", "arctan2", "cos", "sin", "isnan"):
        assert hasattr(xp, name), f"namespace lacks {name}"


def test_reductions_match_reference(xpcs_backend, xp, xpcs_reference):
    rng = np.random.default_rng(1)
    host = rng.poisson(3.0, size=(50, 40)).astype(np.float64)
    dev = xpcs_backend.to_device(host)
    assert_close(xpcs_backend.to_numpy(xp.mean(dev, axis=0)), host.mean(axis=0), "binned_mean")
    assert_close(xpcs_backend.to_numpy(xp.matmul(dev.T, dev)), host.T @ host, "binned_mean")

"""Conformance: binned means of images and frame stacks.

Expected values come from a direct per-label loop in NumPy (the definition), and the
backend must also match the NumPy reference within the SAXS-1D tolerance. Pixels of
label 0 hold huge values and NaN: they must never reach a mean.
"""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.testing import assert_close, require_hook

SHAPE = (64, 80)
N_LABELS = 40  # labels 38..40 are left empty on purpose


@pytest.fixture(scope="module")
def labels() -> np.ndarray:
    rng = np.random.default_rng(11)
    lab = rng.integers(1, N_LABELS - 2, size=SHAPE).astype(np.int32)
    lab[rng.random(SHAPE) < 0.15] = 0
    lab[:5, :] = 0
    return lab


def by_definition(data: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    flat = data.reshape(*data.shape[: data.ndim - labels.ndim], -1).astype(np.float64)
    lab = labels.reshape(-1)
    means = np.full((*flat.shape[:-1], n), np.nan)
    counts = np.zeros(n, dtype=np.int64)
    for k in range(1, n + 1):
        sel = lab == k
        counts[k - 1] = sel.sum()
        if counts[k - 1]:
            means[..., k - 1] = flat[..., sel].mean(axis=-1)
    return means, counts


def _poison(data: np.ndarray, labels: np.ndarray) -> np.ndarray:
    data = data.copy()
    data[..., labels == 0] = 1e30
    if data.dtype.kind == "f":
        data[..., :2, :] = np.nan  # rows 0-1 are all label 0
    return data


def _call(backend, data, labels):
    means, counts = backend.call("xpcs_binned_mean", data=data, labels=labels, n_labels=N_LABELS)
    return backend.to_numpy(means), backend.to_numpy(counts)


@pytest.mark.parametrize("lead,dtype", [((), np.float64), ((6,), np.float32), ((6,), np.uint16),
                                        ((2, 3), np.float64)],
                         ids=["image-f64", "stack-f32", "stack-u16", "segments-f64"])
def test_binned_mean_matches_definition(xpcs_backend, xpcs_reference, labels, xpcs_exec_mode,
                                        dtype, lead):
    require_hook(xpcs_backend, "xpcs_binned_mean")
    rng = np.random.default_rng(5)
    data = (rng.gamma(2.0, 40.0, size=(*lead, *SHAPE))).astype(dtype)
    if dtype != np.uint16:
        data = _poison(data, labels)
    means, counts = _call(xpcs_backend, data, labels)
    want_means, want_counts = by_definition(np.where(labels > 0, data, 0), labels, N_LABELS)
    assert means.shape == (*lead, N_LABELS) and means.dtype == np.float64
    assert_close(counts, want_counts, "exact", err_msg="counts")
    assert np.all(np.isnan(means[..., want_counts == 0])), "empty labels give NaN"
    assert_close(means, want_means, "binned_mean")
    ref_means, _ = _call(xpcs_reference, data, labels)
    assert_close(means, ref_means, "binned_mean")


def test_flat_pixels(xpcs_backend, labels):
    """(F, N) data with (N,) labels, as the correlator's normalisation uses it."""
    require_hook(xpcs_backend, "xpcs_binned_mean")
    rng = np.random.default_rng(6)
    data = rng.poisson(3.0, size=(4, labels.size)).astype(np.float64)
    means, counts = _call(xpcs_backend, data, labels.reshape(-1))
    want_means, want_counts = by_definition(data, labels.reshape(-1), N_LABELS)
    assert_close(counts, want_counts, "exact")
    assert_close(means, want_means, "binned_mean")


def test_large_values_keep_precision(xpcs_backend, labels):
    """Float32 input is summed in float64: a constant offset of 1e7 does not swamp the data."""
    require_hook(xpcs_backend, "xpcs_binned_mean")
    rng = np.random.default_rng(8)
    data = (1e7 + rng.integers(0, 100, size=SHAPE)).astype(np.float32)
    means, _ = _call(xpcs_backend, data, labels)
    want, _ = by_definition(data, labels, N_LABELS)
    assert_close(means, want, "binned_mean")

"""The cupy backend's q-map/partition/binning code path, run with NumPy as ``xp``.

CPU-only CI cannot import cupy, but the cupy hookimpls only pass ``cupy`` and
``cupyx.scipy.sparse`` to the shared kernels; here the same functions get ``numpy`` and
``scipy.sparse`` and must agree with the NumPy backend.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from xpcs_core.backends import Backend
from xpcs_core.geometry import Geometry
from xpcs_core.kernels import binning
from xpcs_core.partition import PartitionSpec
from xpcs_cupy import binning as cupy_binning
from xpcs_cupy import partition as cupy_partition
from xpcs_cupy import qmap as cupy_qmap

GEOMS = [
    Geometry(energy_kev=10, distance_m=2, pixel_size_m=75e-6, shape=(40, 56), beam_center_x=20.5,
             beam_center_y=11.0, swing_h_deg=3.0),
    Geometry(energy_kev=10, distance_m=2, pixel_size_m=75e-6, shape=(40, 56), beam_center_x=20.5,
             beam_center_y=35.0, kind="reflection", orientation_deg=270),
]


@pytest.fixture(scope="module")
def reference():
    return Backend("numpy")


@pytest.mark.parametrize("geometry", GEOMS, ids=["transmission", "reflection"])
def test_qmap_path(reference, geometry):
    got = cupy_qmap.compute_qmap(np, geometry)
    want = reference.call("xpcs_compute_qmap", geometry=geometry)
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])


def test_partition_path(reference):
    maps = {k: np.asarray(v) for k, v in cupy_qmap.compute_qmap(np, GEOMS[0]).items()}
    mask = np.random.default_rng(2).random((40, 56)) > 0.1
    for spec in (PartitionSpec(bins=(12, 4), phi_fold=2), PartitionSpec(bins=(9, 1), scale="log")):
        got = cupy_partition.partition_labels(np, maps, mask, spec)
        want = reference.call("xpcs_partition", maps=maps, mask=mask, spec=spec)
        np.testing.assert_array_equal(got.natural_index, want.natural_index)


def test_binned_mean_path(reference):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 30, size=(40, 56)).astype(np.int32)
    data = rng.random((5, 40, 56)).astype(np.float32)
    got_m, got_c = cupy_binning.binned_mean(np, scipy.sparse, data, labels, 32)
    want_m, want_c = reference.call("xpcs_binned_mean", data=data, labels=labels, n_labels=32)
    np.testing.assert_array_equal(got_c, want_c)
    np.testing.assert_allclose(got_m, want_m, rtol=1e-12, equal_nan=True)
    assert np.isnan(got_m[:, 30:]).all()


@pytest.mark.parametrize("direct", [False, True])
@pytest.mark.parametrize("chunk", [1, 37, 1000, None])
def test_chunk_boundaries(direct, chunk):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 7, size=223)
    data = rng.normal(size=(3, 223))
    means, counts = binning.binned_mean(np, scipy.sparse, data, labels, 8, chunk=chunk, direct=direct)
    for k in range(1, 9):
        sel = labels == k
        assert counts[k - 1] == sel.sum()
        if sel.any():
            np.testing.assert_allclose(means[:, k - 1], data[:, sel].mean(axis=1), rtol=1e-13)
        else:
            assert np.isnan(means[:, k - 1]).all()

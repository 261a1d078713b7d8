"""``binned_mean``: SAXS 1D from a partition, frame stacks, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core import XpcsInputError, binned_mean
from xpcs_core.geometry import Geometry
from xpcs_core.partition import make_partition


@pytest.fixture(scope="module")
def part():
    g = Geometry(energy_kev=10, distance_m=2, pixel_size_m=75e-6, shape=(48, 64),
                 beam_center_x=30.5, beam_center_y=20.25)
    mask = np.ones(g.shape, bool)
    mask[20:25, 25:35] = False
    return make_partition(g, mask, dynamic=(4, 1), static=(16, 1), backend="numpy")


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_saxs_1d_of_an_image(part, backend):
    q = part.qmap.q
    image = 100.0 / (1.0 + (q * 300.0) ** 2)
    image[~part.mask] = 1e9  # masked pixels must not count
    res = binned_mean(image, part.static, backend=backend)
    assert res.provenance.backend == backend
    labels = part.static.labels
    want = [image[labels == k].mean() for k in range(1, part.static.n_labels + 1)]
    np.testing.assert_allclose(res.means, want, rtol=1e-12)
    np.testing.assert_array_equal(res.counts, part.static.counts)
    assert np.all(np.diff(res.means) < 0)  # I(q) falls with q


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_stack_and_segments(part, backend):
    rng = np.random.default_rng(0)
    stack = rng.poisson(5.0, size=(3, 4, 48, 64)).astype(np.uint16)
    res = binned_mean(stack, part.dynamic.labels, backend=backend)
    assert res.means.shape == (3, 4, part.dynamic.n_labels)
    lab = part.dynamic.labels
    np.testing.assert_allclose(res.means[2, 1, 0], stack[2, 1][lab == 1].mean(), rtol=1e-12)


def test_input_errors(part):
    labels = part.static.labels
    with pytest.raises(XpcsInputError, match="does not end with"):
        binned_mean(np.ones((10, 10)), labels)
    with pytest.raises(XpcsInputError, match="negative label"):
        binned_mean(np.ones((2, 3)), np.array([[0, -1, 2], [1, 1, 1]]))
    with pytest.raises(XpcsInputError, match="integers"):
        binned_mean(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(XpcsInputError, match="exceeds n_labels"):
        binned_mean(np.ones((2, 2)), np.array([[1, 2], [3, 4]]), n_labels=3)
    with pytest.raises(XpcsInputError, match="real numbers"):
        binned_mean(np.ones((2, 2), complex), np.array([[1, 2], [3, 4]]))

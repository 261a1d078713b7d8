"""Partitions on hand-made maps: expected labels written out by hand (docs/physics.md rules)."""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core import XpcsInputError
from xpcs_core.geometry import Geometry
from xpcs_core.masks import MaskBuilder, rectangle
from xpcs_core.io.qmap_file import group_from_partition
from xpcs_core.partition import Binning, PartitionSpec, make_partition, partition_maps
from xpcs_core.qmap import QMap, compute_qmap

BACKENDS = ["numpy", "jax"]


def qmap_of(q: np.ndarray, phi: np.ndarray | None = None) -> QMap:
    q = np.asarray(q, dtype=np.float64)
    g = Geometry(energy_kev=10, distance_m=1, pixel_size_m=1e-4, shape=q.shape,
                 beam_center_x=0, beam_center_y=0)
    phi = np.zeros_like(q) if phi is None else np.asarray(phi, dtype=np.float64)
    return QMap(g, {"q": q, "phi": phi})


def natural(q, phi=None, mask=None, backend="numpy", **spec):
    maps = {"q": np.asarray(q, float), "phi": np.zeros(np.shape(q)) if phi is None else np.asarray(phi, float)}
    mask = np.ones(np.shape(q), bool) if mask is None else mask
    binning, _ = partition_maps(maps, mask, PartitionSpec(**spec), backend=backend)
    idx = np.full(np.shape(q), -1, dtype=np.int64)
    used = binning.labels > 0
    idx[used] = binning.index_mapping[binning.labels[used] - 1]
    return idx, binning


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_on_edges_go_up_and_the_maximum_goes_last(backend):
    # 0.1 * k is not exactly k/10 in binary; rounding to 12 decimals puts it on the edge
    q = np.array([[0.1 * k for k in range(11)] + [0.35, 0.7]])
    idx, b = natural(q, maps=("q",), bins=(10,), backend=backend)
    assert idx.tolist() == [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 3, 7]]
    np.testing.assert_array_equal(b.edges[0], np.linspace(0.0, 1.0, 11))
    np.testing.assert_allclose(b.centres[0], np.arange(10) / 10 + 0.05)


@pytest.mark.parametrize("backend", BACKENDS)
def test_twelve_decimal_rounding(backend):
    # 1e-13 below an edge rounds onto it (upper bin); 1e-11 below stays in the lower bin
    q = np.array([[0.0, 0.5 - 1e-13, 0.5 - 1e-11, 0.5 + 1e-13, 1.0]])
    idx, _ = natural(q, maps=("q",), bins=(2,), backend=backend)
    assert idx.tolist() == [[0, 1, 0, 1, 1]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_masked_nan_and_out_of_range_pixels_get_zero(backend):
    q = np.array([[0.0, 0.25, 0.5, np.nan, 0.75, 1.0, 2.0]])
    mask = np.array([[True, False, True, True, True, True, True]])
    idx, b = natural(q, mask=mask, maps=("q",), bins=(4,), ranges=((None, 1.0),), backend=backend)
    assert idx.tolist() == [[0, -1, 2, -1, 3, 3, -1]]
    assert b.labels.tolist() == [[1, 0, 2, 0, 3, 3, 0]]  # compressed: bin 1 is empty
    assert b.index_mapping.tolist() == [0, 2, 3] and b.counts.tolist() == [1, 1, 2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_log_bins(backend):
    q = np.array([[0.0, 1e-3, 3e-3, 1e-2, 5e-2, 0.1]])
    idx, b = natural(q, maps=("q",), bins=(2,), scale="log", backend=backend)
    assert idx.tolist() == [[-1, 0, 0, 1, 1, 1]]  # q = 0 cannot be in a log bin
    np.testing.assert_allclose(b.edges[0], [1e-3, 1e-2, 0.1], rtol=1e-14)
    assert b.edges[0][0] == 1e-3 and b.edges[0][-1] == 0.1  # exact ends
    np.testing.assert_allclose(b.centres[0], [np.sqrt(1e-5), np.sqrt(1e-3)], rtol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_phi_offset_wraps(backend):
    phi = np.array([[100.0, -170.0, 0.0, 180.0, -90.0]])
    q = np.ones_like(phi)
    _, b = natural(q, phi, maps=("q", "phi"), bins=(1, 4), phi_offset=90.0,
                   ranges=((None, None), (-180.0, 180.0)), backend=backend)
    # phi - 90 wrapped into (-180, 180]: 10, 100, -90, 90, 180 -> bins of 90 degrees
    i1 = b.index_mapping[b.labels - 1] % 4
    assert i1.tolist() == [[2, 3, 1, 3, 3]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_phi_fold_pairs_opposite_directions(backend):
    phi = np.array([[-90.0, 90.0, 0.0, 180.0, -45.0, 135.0, 45.0, -135.0]])
    q = np.ones_like(phi)
    _, b = natural(q, phi, maps=("q", "phi"), bins=(1, 4), phi_fold=2,
                   ranges=((None, None), (0.0, 180.0)), backend=backend)
    i1 = (b.index_mapping[b.labels - 1] % 4).tolist()[0]
    # folded: (phi + 180) mod 180 -> 90, 90, 0, 0, 135, 135, 45, 45
    assert i1 == [2, 2, 0, 0, 3, 3, 1, 1]


def test_q_limits_set_the_edges():
    q = np.linspace(0.0, 1.0, 101).reshape(1, -1)
    idx, b = natural(q, maps=("q",), bins=(4,), ranges=((0.2, 0.6),))
    np.testing.assert_array_equal(b.edges[0], [0.2, 0.3, 0.4, 0.5, 0.6])
    assert np.all(idx[q < 0.2 - 1e-9] == -1) and np.all(idx[q > 0.6 + 1e-9] == -1)
    assert idx[0, 60] == 3 and idx[0, 20] == 0


def test_static_nests_in_dynamic_and_counts_add_up():
    g = Geometry(energy_kev=10, distance_m=2, pixel_size_m=75e-6, shape=(48, 64),
                 beam_center_x=20.5, beam_center_y=30.25)
    part = make_partition(g, dynamic=(4, 2), static=(12, 6), backend="numpy")
    s, d = part.static.labels, part.dynamic.labels
    for label in range(1, part.static.n_labels + 1):
        dyn = np.unique(d[s == label])
        assert dyn.size == 1 and dyn[0] == part.static_to_dynamic[label - 1]
    assert part.static.counts.sum() == part.dynamic.counts.sum() == s.size
    # natural index of a static bin maps onto the dynamic one containing it
    i0, i1 = np.divmod(part.static.index_mapping, 6)
    nat_d = part.dynamic.index_mapping[part.static_to_dynamic - 1]
    assert np.all(nat_d == (i0 // 3) * 2 + i1 // 3)


def test_non_nesting_counts_are_rejected():
    q = np.linspace(0.0, 1.0, 1000).reshape(10, 100)
    with pytest.raises(XpcsInputError, match="nest"):
        make_partition(qmap_of(q), dynamic=(3, 1), static=(10, 1), backend="numpy")


def test_more_bins_than_pixels_is_an_input_error():
    q = np.linspace(0.0, 1.0, 20).reshape(4, 5)
    with pytest.raises(XpcsInputError, match="only 20 usable pixels"):
        make_partition(qmap_of(q), dynamic=(5, 1), static=(30, 1), backend="numpy")


def test_empty_range_and_bad_mask():
    q = np.linspace(0.0, 1.0, 20).reshape(4, 5)
    with pytest.raises(XpcsInputError, match="no unmasked pixel"):
        make_partition(qmap_of(q), dynamic=(1, 1), static=(2, 1), q_min=2.0, q_max=3.0)
    with pytest.raises(XpcsInputError, match="mask: shape"):
        make_partition(qmap_of(q), np.ones((5, 4), bool), dynamic=(1, 1), static=(2, 1))


def test_mask_builder_and_masked_pixels_are_zero():
    g = Geometry(energy_kev=10, distance_m=2, pixel_size_m=75e-6, shape=(40, 50),
                 beam_center_x=25, beam_center_y=20)
    mb = MaskBuilder(g.shape).subtract(rectangle(g.shape, 20, 15, 30, 25))
    part = make_partition(g, mb, dynamic=(3, 1), static=(9, 1), backend="numpy")
    assert np.all(part.static.labels[15:26, 20:31] == 0)
    assert np.all(part.dynamic.labels[15:26, 20:31] == 0)
    assert np.all(part.static.labels[~part.mask] == 0)
    assert part.mask.sum() == 40 * 50 - 11 * 11


def test_x_y_partition():
    g = Geometry(energy_kev=10, distance_m=2, pixel_size_m=75e-6, shape=(4, 6),
                 beam_center_x=0, beam_center_y=0)
    part = make_partition(g, maps=("x", "y"), dynamic=(3, 2), static=(6, 4), backend="numpy")
    # x = column 0..5 in 3 bins of width 5/3: columns 0,1 | 2,3 | 4,5
    i0 = part.dynamic.index_mapping[part.dynamic.labels - 1] // 2
    assert i0[0].tolist() == [0, 0, 1, 1, 2, 2]
    assert part.dynamic.maps == ("x", "y") and part.dynamic.units == ("pixel", "pixel")


def test_stored_partition_round_trip():
    g = Geometry(energy_kev=10, distance_m=2, pixel_size_m=75e-6, shape=(40, 50),
                 beam_center_x=10, beam_center_y=35)
    part = make_partition(g, dynamic=(5, 2), static=(20, 4), backend="numpy")
    group = group_from_partition(part)
    group.validate()
    np.testing.assert_array_equal(group.static_to_dynamic(), part.static_to_dynamic)
    back = group.static
    np.testing.assert_array_equal(back.labels, part.static.labels)
    np.testing.assert_array_equal(back.index_mapping, part.static.index_mapping)
    np.testing.assert_array_equal(back.counts, part.static.counts)
    np.testing.assert_allclose(back.centres[0], part.static.centres[0])
    assert group.dynamic.maps == ("q", "phi") and group.dynamic.units == ("1/A", "degree")
    assert back.edges == []  # edges are not stored


@pytest.mark.parametrize("kind,maps", [("transmission", ("q", "phi")), ("reflection", ("qr", "qz"))])
def test_labels_identical_across_backends(kind, maps):
    g = Geometry(energy_kev=9.0, distance_m=4.0, pixel_size_m=75e-6, shape=(96, 128),
                 beam_center_x=60.3, beam_center_y=80.7, kind=kind, incidence_deg=0.15)
    mask = np.random.default_rng(1).random(g.shape) > 0.05
    qn, qj = compute_qmap(g, backend="numpy"), compute_qmap(g, backend="jax")
    for scale in ("linear", "log"):
        kwargs = dict(maps=maps, dynamic=(8, 3), static=(64, 6), scale=scale, phi_offset=12.5)
        if maps[0] != "q" and scale == "log":
            continue
        a = make_partition(qn, mask, backend="numpy", **kwargs)
        b = make_partition(qn, mask, backend="jax", **kwargs)
        c = make_partition(qj, mask, backend="jax", **kwargs)  # jax's own q-map too
        for which in ("static", "dynamic"):
            np.testing.assert_array_equal(getattr(a, which).labels, getattr(b, which).labels)
            np.testing.assert_array_equal(getattr(a, which).labels, getattr(c, which).labels)
        assert b.provenance.backend == "jax"

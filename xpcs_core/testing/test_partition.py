"""Conformance: partitions agree with the NumPy reference bit for bit.

The maps go in identical to both backends; natural indices and edges must be equal
exactly, including on awkward inputs: values exactly on bin edges, values within 1e-13
of an edge, the maximum (which belongs to the last bin), NaN/inf, masked pixels, log
bins, phi offsets and folds, explicit edges and range limits.
"""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.geometry import Geometry
from xpcs_core.partition import PartitionSpec
from xpcs_core.testing import assert_close, require_hook

SHAPE = (64, 80)


@pytest.fixture(scope="module")
def qmaps(xpcs_reference) -> dict[str, np.ndarray]:
    g = Geometry(energy_kev=10.0, distance_m=2.0, pixel_size_m=75e-6, shape=SHAPE,
                 beam_center_x=30.5, beam_center_y=20.25)
    raw = xpcs_reference.call("xpcs_compute_qmap", geometry=g)
    maps = {k: np.asarray(v) for k, v in raw.items()}
    rows, cols = np.indices(SHAPE, dtype=np.float64)
    maps["x"], maps["y"] = cols - 30.5, rows - 20.25
    return maps


@pytest.fixture(scope="module")
def awkward() -> dict[str, np.ndarray]:
    """Maps full of values on edges of linspace(0, 1, n + 1) for n = 7, 10, 36, and
    values 1e-13 away from them."""
    rng = np.random.default_rng(7)
    k = rng.integers(0, 253, size=SHAPE)
    q = k / 252.0  # multiples of 1/252 = exact edges for n = 7, 36, 252...
    q = q + rng.choice([0.0, 0.0, 1e-13, -1e-13, 4e-13], size=SHAPE) * (k > 0) * (k < 252)
    q[0, 0], q[0, 1] = 0.0, 1.0  # exact min and max present
    q[1, 1], q[1, 2] = np.nan, np.inf
    phi = rng.integers(-36, 37, size=SHAPE) * 5.0  # on many phi edges, includes ±180
    phi[phi == -180.0] = 180.0
    return {"q": q, "phi": phi}


def _run(backend, maps, mask, spec):
    out = backend.call("xpcs_partition", maps=maps, mask=mask, spec=spec)
    natural = backend.to_numpy(out.natural_index)
    edges = [np.asarray(backend.to_numpy(e)) for e in out.edges]
    return natural, edges


def _check(backend, reference, maps, mask, spec):
    got_n, got_e = _run(backend, maps, mask, spec)
    want_n, want_e = _run(reference, maps, mask, spec)
    assert got_n.shape == SHAPE and got_n.dtype.kind == "i"
    assert_close(got_n, want_n, "exact", err_msg="natural indices")
    assert len(got_e) == len(want_e)
    for g, w in zip(got_e, want_e, strict=True):
        assert_close(g, w, "exact", err_msg="edges")
    return want_n


def _mask(seed: int = 3, frac: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = rng.random(SHAPE) > frac
    mask[30:36, 25:40] = False  # a beam stop
    return mask


SPECS = {
    "q_phi_linear": PartitionSpec(maps=("q", "phi"), bins=(36, 8)),
    "q_log": PartitionSpec(maps=("q", "phi"), bins=(20, 1), scale="log"),
    "q_only": PartitionSpec(maps=("q",), bins=(50,)),
    "phi_offset_fold": PartitionSpec(maps=("q", "phi"), bins=(10, 6), phi_offset=33.3, phi_fold=2),
    "phi_fold3": PartitionSpec(maps=("q", "phi"), bins=(10, 7), phi_fold=3),
    "q_range": PartitionSpec(maps=("q", "phi"), bins=(12, 4),
                             ranges=((0.0005, 0.003), (-90.0, 90.0))),
    "x_y": PartitionSpec(maps=("x", "y"), bins=(8, 5)),
    "qx_qy": PartitionSpec(maps=("qx", "qy"), bins=(9, 9)),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_partition_matches_reference(xpcs_backend, xpcs_reference, qmaps, xpcs_exec_mode, name):
    require_hook(xpcs_backend, "xpcs_partition")
    mask = _mask()
    natural = _check(xpcs_backend, xpcs_reference, qmaps, mask, SPECS[name])
    assert np.all(natural[~mask] == -1), "masked pixels must not be assigned"
    assert natural.max() < int(np.prod(SPECS[name].bins))


@pytest.mark.parametrize("bins", [(7, 1), (36, 72), (252, 1)])
def test_awkward_values_on_edges(xpcs_backend, xpcs_reference, awkward, xpcs_exec_mode, bins):
    require_hook(xpcs_backend, "xpcs_partition")
    spec = PartitionSpec(maps=("q", "phi"), bins=bins)
    mask = np.ones(SHAPE, dtype=bool)
    natural = _check(xpcs_backend, xpcs_reference, awkward, mask, spec)
    assert natural[1, 1] == -1 and natural[1, 2] == -1, "NaN and inf are never assigned"
    assert natural[0, 1] // bins[1] == bins[0] - 1, "the maximum belongs to the last bin"
    assert natural[0, 0] // bins[1] == 0


@pytest.mark.parametrize("fold,offset", [(1, -45.0), (4, 10.0), (6, 180.0)])
def test_awkward_phi_folds(xpcs_backend, xpcs_reference, awkward, fold, offset):
    require_hook(xpcs_backend, "xpcs_partition")
    spec = PartitionSpec(maps=("q", "phi"), bins=(5, 12), phi_offset=offset, phi_fold=fold)
    _check(xpcs_backend, xpcs_reference, awkward, np.ones(SHAPE, bool), spec)


def test_explicit_edges(xpcs_backend, xpcs_reference, awkward):
    require_hook(xpcs_backend, "xpcs_partition")
    edges = (np.array([0.1, 0.25, 0.5, 0.75, 0.9]), np.linspace(-180.0, 180.0, 5))
    spec = PartitionSpec(maps=("q", "phi"), bins=(4, 4), edges=edges)
    natural = _check(xpcs_backend, xpcs_reference, awkward, np.ones(SHAPE, bool), spec)
    q = awkward["q"]
    assert np.all(natural[(q < 0.1 - 1e-12) | (q > 0.9 + 1e-12)] == -1)

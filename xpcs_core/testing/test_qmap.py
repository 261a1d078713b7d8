"""Conformance: q-maps of both geometries against the NumPy reference and hand values.

Small detectors (64 x 80) keep it fast. Each backend's maps must match the reference
within docs/physics.md's tolerances; a few pixels are also checked against q computed by
hand, so the reference itself is held to the formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from xpcs_core.geometry import Geometry
from xpcs_core.testing import assert_close, require_hook

SHAPE = (64, 80)
BASE = dict(energy_kev=10.0, distance_m=2.0, pixel_size_m=75e-6, shape=SHAPE)

TRANSMISSION = {
    "inside": Geometry(**BASE, beam_center_x=30.5, beam_center_y=20.25),
    "on_pixel": Geometry(**BASE, beam_center_x=40.0, beam_center_y=32.0),
    "outside": Geometry(**BASE, beam_center_x=-150.0, beam_center_y=300.0),
    "swing": Geometry(**BASE, beam_center_x=10.0, beam_center_y=50.0, swing_h_deg=12.0,
                      swing_v_deg=-3.0),
}
REFLECTION = {
    f"orient{o}": Geometry(**BASE, beam_center_x=35.5, beam_center_y=58.0, kind="reflection",
                           incidence_deg=0.2, orientation_deg=o)
    for o in (0, 90, 180, 270)
}


def _maps(backend, geometry) -> dict[str, np.ndarray]:
    raw = backend.call("xpcs_compute_qmap", geometry=geometry)
    assert raw is not None, f"{backend.name} declined a {geometry.kind} geometry"
    return {k: backend.to_numpy(v) for k, v in raw.items()}


def _compare(got, want, kind):
    tol = "qmap_transmission" if kind == "transmission" else "qmap_reflection"
    for key, expected in want.items():
        assert key in got, f"missing map {key!r}"
        assert got[key].dtype == np.float64, f"{key}: dtype {got[key].dtype}"
        assert_close(got[key], expected, "phi_deg" if key == "phi" else tol, err_msg=key)


@pytest.mark.parametrize("name", sorted(TRANSMISSION))
def test_transmission_matches_reference(xpcs_backend, xpcs_reference, xpcs_exec_mode, name):
    require_hook(xpcs_backend, "xpcs_compute_qmap")
    geometry = TRANSMISSION[name]
    got, want = _maps(xpcs_backend, geometry), _maps(xpcs_reference, geometry)
    assert set(want) >= {"q", "phi", "qx", "qy"}
    _compare(got, want, "transmission")


@pytest.mark.parametrize("name", sorted(REFLECTION))
def test_reflection_matches_reference(xpcs_backend, xpcs_reference, xpcs_exec_mode, name):
    require_hook(xpcs_backend, "xpcs_compute_qmap")
    geometry = REFLECTION[name]
    got, want = _maps(xpcs_backend, geometry), _maps(xpcs_reference, geometry)
    assert set(want) >= {"q", "phi", "qx", "qy", "qr", "qz"}
    _compare(got, want, "reflection")


def test_hand_computed_pixels(xpcs_backend, xpcs_exec_mode):
    """q at the beam centre, along each axis and at a corner, from plain math."""
    require_hook(xpcs_backend, "xpcs_compute_qmap")
    g = TRANSMISSION["on_pixel"]
    maps = _maps(xpcs_backend, g)
    k0 = 2 * math.pi * g.energy_kev / 12.398419843
    for row, col in ((32, 40), (32, 79), (0, 40), (63, 0), (0, 0)):
        r = math.hypot(row - 32, col - 40) * g.pixel_size_m
        q = 2 * k0 * math.sin(math.atan(r / g.distance_m) / 2)
        assert_close(maps["q"][row, col], q, "qmap_transmission", err_msg=f"pixel {row, col}")
    assert maps["q"][32, 40] == 0.0
    assert_close(maps["phi"][32, 79], 0.0, "phi_deg")
    assert_close(maps["phi"][0, 40], 90.0, "phi_deg")  # up on the detector: phi = +90
    assert maps["phi"][32, 0] == 180.0  # on the negative h axis: +180, never -180


def test_phi_range_and_shapes(xpcs_backend):
    require_hook(xpcs_backend, "xpcs_compute_qmap")
    for geometry in (*TRANSMISSION.values(), *REFLECTION.values()):
        maps = _maps(xpcs_backend, geometry)
        for key, value in maps.items():
            assert value.shape == SHAPE, key
            assert np.all(np.isfinite(value)), key
        assert np.all(maps["phi"] > -180.0) and np.all(maps["phi"] <= 180.0)
        assert np.all(maps["q"] >= 0.0)


def test_same_shape_new_values_not_stale(xpcs_backend, xpcs_reference):
    """A compiled kernel must take geometry values as arguments, not as cached constants."""
    require_hook(xpcs_backend, "xpcs_compute_qmap")
    for energy, centre in ((8.0, 12.0), (12.0, 55.5)):
        g = Geometry(energy_kev=energy, distance_m=3.0, pixel_size_m=55e-6, shape=SHAPE,
                     beam_center_x=centre, beam_center_y=centre / 2)
        _compare(_maps(xpcs_backend, g), _maps(xpcs_reference, g), "transmission")

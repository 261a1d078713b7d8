"""Transmission q-maps against q computed by hand for chosen pixels (plain math)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xpcs_core import compute_qmap
from xpcs_core.geometry import Geometry

HC = 12.398419843
BACKENDS = ["numpy", "jax"]


def hand_q_phi(g: Geometry, row: int, col: int) -> tuple[float, float]:
    """q (1/Å) and phi (deg) of one pixel: rotate p by Ry(swing_h)·Rx(swing_v), then
    2θ = arccos(p_z/|p|), q = 2 k0 sin(θ), phi = −atan2(p_y, p_x)."""
    k0 = 2 * math.pi / (HC / g.energy_kev)
    p = np.array([(col - g.beam_center_x) * g.pixel_size_m,
                  (row - g.beam_center_y) * g.pixel_size_m, g.distance_m])
    a, b = math.radians(g.swing_v_deg), math.radians(g.swing_h_deg)
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    p = ry @ rx @ p
    two_theta = math.acos(p[2] / math.sqrt(p @ p))
    phi = -math.degrees(math.atan2(p[1], p[0]))
    return 2 * k0 * math.sin(two_theta / 2), phi


@pytest.fixture(scope="module")
def geometry() -> Geometry:
    return Geometry(energy_kev=8.0, distance_m=1.5, pixel_size_m=75e-6, shape=(40, 50),
                    beam_center_x=20.0, beam_center_y=15.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_beam_centre_axes_and_corner(geometry, backend):
    qm = compute_qmap(geometry, backend=backend)
    assert qm.provenance.backend == backend
    k0 = 2 * math.pi * 8.0 / HC
    # beam centre: q = 0 exactly
    assert qm.q[15, 20] == 0.0
    # along +h (same row, 29 pixels right): 2θ = atan(29·75e-6 / 1.5)
    q_h = 2 * k0 * math.sin(math.atan(29 * 75e-6 / 1.5) / 2)
    assert qm.q[15, 49] == pytest.approx(q_h, rel=1e-12)
    assert qm.phi[15, 49] == pytest.approx(0.0, abs=1e-12)
    # along v: row 0 is above the beam (v = -15): phi = +90; row 39 below: phi = -90
    q_v = 2 * k0 * math.sin(math.atan(15 * 75e-6 / 1.5) / 2)
    assert qm.q[0, 20] == pytest.approx(q_v, rel=1e-12)
    assert qm.phi[0, 20] == pytest.approx(90.0, abs=1e-12)
    assert qm.phi[39, 20] == pytest.approx(-90.0, abs=1e-12)
    # left of the beam: phi = +180 (never -180)
    assert qm.phi[15, 0] == 180.0
    # a corner
    q_c = 2 * k0 * math.sin(math.atan(math.hypot(20, 15) * 75e-6 / 1.5) / 2)
    assert qm.q[0, 0] == pytest.approx(q_c, rel=1e-12)
    assert qm.phi[0, 0] == pytest.approx(180.0 - math.degrees(math.atan2(15, 20)), abs=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_phi_sign_convention_and_components(geometry, backend):
    qm = compute_qmap(geometry, backend=backend)
    rows, cols = np.indices(geometry.shape)
    v, h = rows - 15.0, cols - 20.0
    np.testing.assert_allclose(qm.phi, np.where(
        np.degrees(-np.arctan2(v, h)) <= -180, 180.0, np.degrees(-np.arctan2(v, h))), atol=1e-10)
    k0 = 2 * math.pi * 8.0 / HC
    qr = k0 * np.sin(np.arctan(np.hypot(v, h) * 75e-6 / 1.5))
    np.testing.assert_allclose(np.hypot(qm["qx"], qm["qy"]), qr, rtol=1e-12, atol=1e-15)
    # up on the detector (v < 0) has qy > 0, right (h > 0) has qx > 0
    assert qm["qy"][0, 20] > 0 and qm["qx"][15, 49] > 0


def test_exact_form_not_small_angle():
    """At 2θ ≈ 22° the exact q = 2 k0 sin(θ) differs from k0 sin(2θ) by ~2%."""
    g = Geometry(energy_kev=10.0, distance_m=0.1, pixel_size_m=1e-3, shape=(3, 50),
                 beam_center_x=0.0, beam_center_y=1.0)
    qm = compute_qmap(g, backend="numpy")
    k0 = 2 * math.pi * 10.0 / HC
    tth = math.atan(40 * 1e-3 / 0.1)
    assert qm.q[1, 40] == pytest.approx(2 * k0 * math.sin(tth / 2), rel=1e-12)
    assert abs(qm.q[1, 40] / (k0 * math.sin(tth)) - 1) > 0.01


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("swing_h,swing_v", [(15.0, 0.0), (0.0, -10.0), (8.0, 5.0)])
def test_detector_swing(backend, swing_h, swing_v):
    g = Geometry(energy_kev=12.0, distance_m=0.8, pixel_size_m=172e-6, shape=(30, 40),
                 beam_center_x=5.5, beam_center_y=25.0, swing_h_deg=swing_h, swing_v_deg=swing_v)
    qm = compute_qmap(g, backend=backend)
    for row, col in ((25, 5), (0, 0), (29, 39), (10, 30), (25, 39)):
        q, phi = hand_q_phi(g, row, col)
        assert qm.q[row, col] == pytest.approx(q, rel=1e-10), (row, col)
        assert qm.phi[row, col] == pytest.approx(phi, abs=1e-8), (row, col)
    # with a swing the beam centre pixel is no longer at q = 0
    assert qm.q[25, 5] > 0.01


def test_maps_do_not_depend_on_backend(geometry):
    a, b = compute_qmap(geometry, backend="numpy"), compute_qmap(geometry, backend="jax")
    assert set(a) == set(b) == {"q", "phi", "qx", "qy"}
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-12, atol=1e-14)
        assert isinstance(b[key], np.ndarray)

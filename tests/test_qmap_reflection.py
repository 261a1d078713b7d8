"""Grazing-incidence q-maps against hand formulas: direct beam, specular rod, orientations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xpcs_core import compute_qmap
from xpcs_core.geometry import Geometry

HC = 12.398419843
PIX, DIST, E = 75e-6, 2.0, 10.0
K0 = 2 * math.pi * E / HC
BCX, BCY = 40.0, 30.0
# the pixel 20 rows above the direct beam sees the specular reflection
ALPHA_I = math.degrees(math.atan(20 * PIX / DIST) / 2)


def geometry(orientation: int = 0) -> Geometry:
    return Geometry(energy_kev=E, distance_m=DIST, pixel_size_m=PIX, shape=(64, 80),
                    beam_center_x=BCX, beam_center_y=BCY, kind="reflection",
                    incidence_deg=ALPHA_I, orientation_deg=orientation)


def hand(vg: float, hg: float) -> dict[str, float]:
    ai = math.radians(ALPHA_I)
    af = math.atan(vg * PIX / DIST) - ai
    tth = math.atan(hg * PIX / DIST)
    qx = K0 * (math.cos(af) * math.cos(tth) - math.cos(ai))
    qy = K0 * math.cos(af) * math.sin(tth)
    qz = K0 * (math.sin(ai) + math.sin(af))
    return {"qx": qx, "qy": qy, "qz": qz, "qr": math.hypot(qx, qy),
            "q": math.sqrt(qx * qx + qy * qy + qz * qz)}


# (vg, hg) of pixel offsets (v = row - bcy, h = col - bcx) for each orientation
TURN = {
    0: lambda v, h: (-v, h),
    90: lambda v, h: (-h, -v),
    180: lambda v, h: (v, -h),
    270: lambda v, h: (h, v),
}
SPECULAR = {0: (10, 40), 90: (30, 20), 180: (50, 40), 270: (30, 60)}  # (row, col)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("orientation", [0, 90, 180, 270])
def test_hand_values(backend, orientation):
    qm = compute_qmap(geometry(orientation), backend=backend)
    assert set(qm) == {"q", "phi", "qx", "qy", "qr", "qz"}
    for row, col in ((30, 40), (0, 0), (63, 79), (12, 70), (45, 3)):
        vg, hg = TURN[orientation](row - BCY, col - BCX)
        want = hand(vg, hg)
        for key, value in want.items():
            assert qm[key][row, col] == pytest.approx(value, rel=1e-9, abs=1e-13), (key, row, col)
        assert qm.phi[row, col] == pytest.approx(
            math.degrees(math.atan2(vg, hg)) if (vg, hg) != (0, 0) else 0.0, abs=1e-9)


@pytest.mark.parametrize("orientation", [0, 90, 180, 270])
def test_direct_beam_and_specular(orientation):
    qm = compute_qmap(geometry(orientation), backend="numpy")
    assert qm.q[30, 40] == pytest.approx(0.0, abs=1e-15)
    row, col = SPECULAR[orientation]
    assert qm["qz"][row, col] == pytest.approx(2 * K0 * math.sin(math.radians(ALPHA_I)), rel=1e-12)
    assert qm["qr"][row, col] == pytest.approx(0.0, abs=1e-15)
    assert qm["qz"][row, col] == pytest.approx(qm.q[row, col], rel=1e-12)


def test_orientation_180_is_the_map_turned_half_way():
    """With the beam centre on a pixel, orientation 180 equals orientation 0 rotated by
    180 degrees about it (in the overlapping window)."""
    a = compute_qmap(geometry(0), backend="numpy")["qz"]
    b = compute_qmap(geometry(180), backend="numpy")["qz"]
    window = a[1:60, 1:80]  # rows 1..59, columns 1..79 around (30, 40)
    np.testing.assert_allclose(b[1:60, 1:80][::-1, ::-1], window, rtol=1e-12, atol=1e-16)


def test_phi_follows_transmission_convention_for_orientation_0():
    qm = compute_qmap(geometry(0), backend="numpy")
    assert qm.phi[0, 40] == pytest.approx(90.0)  # above the beam
    assert qm.phi[30, 79] == pytest.approx(0.0)
    assert qm.phi[30, 0] == 180.0

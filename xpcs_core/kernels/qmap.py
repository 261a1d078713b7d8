"""Q-map kernels (docs/physics.md, "Q-map"): one implementation for every backend.

All angles inside are radians; ``phi`` leaves in degrees in (-180, 180]. Scalars may be
Python floats or traced 0-d arrays (jax); ``shape`` and ``orientation`` are static.
"""

from __future__ import annotations

import math
from typing import Any

RAD2DEG = 180.0 / math.pi
ORIENTATIONS = (0, 90, 180, 270)


def phi_degrees(xp: Any, y: Any, x: Any) -> Any:
    """``atan2(y, x)`` in degrees, mapped into (-180, 180] (-180 itself becomes 180);
    0 at the origin whatever the signs of the zeros."""
    deg = xp.arctan2(y, x) * RAD2DEG
    deg = xp.where(xp.abs(deg) >= 180.0, 180.0, deg)
    return xp.where((y == 0.0) & (x == 0.0), 0.0, deg)


def _pixel_offsets(xp: Any, shape: tuple[int, int], bcx: Any, bcy: Any) -> tuple[Any, Any]:
    """``v`` (H, 1) = row - bcy and ``h`` (1, W) = column - bcx, in pixels (float64)."""
    rows, cols = shape
    v = xp.reshape(xp.arange(rows, dtype=xp.float64), (rows, 1)) - bcy
    h = xp.reshape(xp.arange(cols, dtype=xp.float64), (1, cols)) - bcx
    return v, h


def transmission(
    xp: Any,
    shape: tuple[int, int],
    bcx: Any,
    bcy: Any,
    pixel: Any,
    distance: Any,
    k0: Any,
    swing_h: Any = 0.0,
    swing_v: Any = 0.0,
) -> dict[str, Any]:
    """Transmission q-map: ``q``, ``phi``, ``qx``, ``qy`` as (H, W) float64 arrays.

    ``pixel`` and ``distance`` in metres, ``k0`` in 1/Å, swings in radians. The pixel
    vector p = (h·pix, v·pix, D) is rotated by Ry(swing_h)·Rx(swing_v); then
    2θ = atan2(|p_xy|, p_z) (= arccos(p_z/|p|), well conditioned at small angles),
    q = 2·k0·sin(2θ/2), phi = −atan2(p_y, p_x), qr = k0·sin(2θ), qx/qy = qr·cos/sin(phi).
    """
    v, h = _pixel_offsets(xp, shape, bcx, bcy)
    x = h * pixel
    y = v * pixel
    cv, sv = xp.cos(swing_v), xp.sin(swing_v)
    ch, sh = xp.cos(swing_h), xp.sin(swing_h)
    # Rx(swing_v): rotate about x;  then Ry(swing_h): rotate about y.  With zero swings
    # every product by sin is +-0 and by cos is exact, so p is unchanged bit for bit.
    y1 = y * cv - distance * sv
    z1 = y * sv + distance * cv
    x2 = x * ch + z1 * sh
    z2 = z1 * ch - x * sh
    tth = xp.arctan2(xp.hypot(x2, y1), z2)
    q = 2.0 * k0 * xp.sin(0.5 * tth)
    phi = phi_degrees(xp, -y1, x2)
    phi_rad = phi / RAD2DEG
    qr = k0 * xp.sin(tth)
    return {"q": q, "phi": phi, "qx": qr * xp.cos(phi_rad), "qy": qr * xp.sin(phi_rad)}


def _orient(v: Any, h: Any, orientation: int) -> tuple[Any, Any]:
    """(vg, hg): vg = −v (up on the detector), turned by 0/90/180/270 degrees."""
    vg, hg = -v, h
    if orientation == 0:
        return vg, hg
    if orientation == 90:
        return -hg, vg
    if orientation == 180:
        return -vg, -hg
    if orientation == 270:
        return hg, -vg
    raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation}")


def reflection(
    xp: Any,
    shape: tuple[int, int],
    bcx: Any,
    bcy: Any,
    pixel: Any,
    distance: Any,
    k0: Any,
    alpha_i: Any,
    orientation: int = 0,
) -> dict[str, Any]:
    """Grazing-incidence q-map: ``q``, ``phi``, ``qx``, ``qy``, ``qr``, ``qz`` (H, W).

    ``alpha_i`` in radians, ``orientation`` (static) in degrees, one of 0/90/180/270:
    the direction of the sample normal on the detector, counter-clockwise from "up".
    α_f = atan(vg·pix/D) − α_i, 2θ_f = atan(hg·pix/D);
    qx = k0(cos α_f cos 2θ_f − cos α_i), qy = k0 cos α_f sin 2θ_f, qz = k0(sin α_i + sin α_f),
    qr = hypot(qx, qy), q = hypot(qr, qz), phi = atan2(vg, hg) in degrees.
    """
    v, h = _pixel_offsets(xp, shape, bcx, bcy)
    vg, hg = _orient(v, h, orientation)
    alpha_f = xp.arctan(vg * pixel / distance) - alpha_i
    tth_f = xp.arctan(hg * pixel / distance)
    cos_af = xp.cos(alpha_f)
    qx = k0 * (cos_af * xp.cos(tth_f) - xp.cos(alpha_i))
    qy = k0 * (cos_af * xp.sin(tth_f))
    # alpha_f varies along one detector axis only: broadcast qz to the full shape
    qz = k0 * (xp.sin(alpha_i) + xp.sin(alpha_f)) + xp.zeros(tuple(shape), dtype=xp.float64)
    qr = xp.hypot(qx, qy)
    q = xp.hypot(qr, qz)
    phi = phi_degrees(xp, vg, hg)
    return {"q": q, "phi": phi, "qx": qx, "qy": qy, "qr": qr, "qz": qz}


def pixel_maps(xp: Any, shape: tuple[int, int], bcx: Any, bcy: Any) -> dict[str, Any]:
    """``x`` = column − bcx and ``y`` = row − bcy (pixels) as (H, W) float64 maps."""
    v, h = _pixel_offsets(xp, shape, bcx, bcy)
    zeros = xp.zeros(tuple(shape), dtype=xp.float64)
    return {"x": h + zeros, "y": v + zeros}


def arguments(geometry: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Split a :class:`xpcs_core.geometry.Geometry` into kernel arguments.

    Returns ``(kind, static, values)``: ``static`` holds what fixes the compiled shape
    (``shape``, and ``orientation`` for reflection), ``values`` the floats (radians).
    """
    values = {
        "bcx": float(geometry.beam_center_x),
        "bcy": float(geometry.beam_center_y),
        "pixel": float(geometry.pixel_size_m),
        "distance": float(geometry.distance_m),
        "k0": float(geometry.k0),
    }
    static: dict[str, Any] = {"shape": tuple(int(n) for n in geometry.shape)}
    if geometry.kind == "transmission":
        values["swing_h"] = math.radians(geometry.swing_h_deg)
        values["swing_v"] = math.radians(geometry.swing_v_deg)
    elif geometry.kind == "reflection":
        values["alpha_i"] = math.radians(geometry.incidence_deg)
        static["orientation"] = int(geometry.orientation_deg)
    else:
        raise ValueError(f"unknown geometry kind {geometry.kind!r}")
    return geometry.kind, static, values


KERNELS = {"transmission": transmission, "reflection": reflection}


def compute(xp: Any, geometry: Any) -> dict[str, Any]:
    """The q-map of ``geometry`` in namespace ``xp`` (uncompiled)."""
    kind, static, values = arguments(geometry)
    return KERNELS[kind](xp, **static, **values)

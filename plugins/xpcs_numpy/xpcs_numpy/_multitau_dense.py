"""Numba kernels of the dense multi-tau path: one level frame of one pixel tile.

Imported only by :mod:`xpcs_numpy._multitau_numba` (which the hookimpl imports lazily):
importing this module imports numba. Layouts (flat float64 arrays, ``P`` pixels):
ring of level L at ``L*8*P + slot*P + p`` (slot = frame index & 7), lag sums of level L
at ``row_off[L]*P + j*P + p`` (lag j of the level). docs/physics.md "Multi-tau
correlation".
"""

from __future__ import annotations

import numba
import numpy as np

NJIT = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}


@numba.njit(**NJIT)
def load_raw(frames, t, p0, x, valid):
    """Level-0 frame ``t`` of the tile starting at ``p0`` into ``x`` (zeros when bad)."""
    w = x.size
    if valid:
        row = frames[t, p0 : p0 + w]
        for q in range(w):
            x[q] = np.float64(row[q])
    else:
        x[:] = 0.0


@numba.njit(**NJIT)
def _axpy(y, off, a, x):
    """y[off:off+len(x)] += a*x (a = +1/-1 scalar)."""
    v = y[off : off + x.size]
    for q in range(x.size):
        v[q] += a * x[q]


@numba.njit(**NJIT)
def _mul_add(y, off_y, x, r, off_r):
    """y[off_y:...] += x * r[off_r:...] over len(x) values (vectorised)."""
    w = x.size
    yv = y[off_y : off_y + w]
    rv = r[off_r : off_r + w]
    for q in range(w):
        yv[q] += x[q] * rv[q]


@numba.njit(inline="always", **NJIT)
def dense_frame(level, index, valid, bad, good, x, p0, n_pix, row_off, g2, ipc, ifc, s, ring):
    """Add level frame ``index`` (tile values ``x``) to the sums, then store it in the ring.

    ``bad``/``good``: bit j set when lag j has a partner frame that is bad/valid.
    G2 gets x·partner (bad frames are zeros); IP and IF are finished from the level
    totals ``s``, so here only their corrections are kept: the first frames (IF) and
    the pairs that a bad frame breaks (IF when the early frame is bad, IP when the late
    one is).
    """
    w = x.size
    n_lags = 8 if level == 0 else 4
    m0 = 1 if level == 0 else 5
    ring_base = level * 8 * n_pix + p0
    row0 = row_off[level]
    if valid:
        for j in range(n_lags):
            m = m0 + j
            if index < m:
                break
            _mul_add(g2, (row0 + j) * n_pix + p0, x, ring, ring_base + ((index - m) & 7) * n_pix)
        _axpy(s, level * n_pix + p0, 1.0, x)
        for j in range(n_lags):
            if m0 + j > index or (bad >> j) & 1:
                _axpy(ifc, (row0 + j) * n_pix + p0, -1.0, x)
    elif good:
        for j in range(n_lags):
            if (good >> j) & 1:
                r = ring_base + ((index - m0 - j) & 7) * n_pix
                _axpy(ipc, (row0 + j) * n_pix + p0, -1.0, ring[r : r + w])
    r = ring_base + (index & 7) * n_pix
    ring[r : r + w] = x

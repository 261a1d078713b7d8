"""Numba kernels of the sparse multi-tau path: cost proportional to the nonzero pixels.

A level frame of a pixel tile is a list of (pixel offset in the tile, value), sorted by
pixel. Pixel-major layouts (flat float64 arrays, ``P`` pixels): ring of level L at
``L*8*P + p*8 + slot`` (slot = frame index & 7; one cache line per pixel), lag sums of
level L at ``row_off[L]*P + p*n_lags + j``. ``state[L, p] = last << 8 | mask``: ``last``
is the last frame of level L in which pixel p was nonzero, bit d of ``mask`` says
whether frame last-d was nonzero (d < 8); a ring slot counts only when its bit is set,
so nothing is ever cleared and the inner loops have no branches. docs/physics.md
"Multi-tau correlation": pairs with a zero contribute nothing, so only nonzero pixels
are visited.
"""

from __future__ import annotations

import numba
import numpy as np

from xpcs_numpy._multitau_dense import NJIT

# index of the lowest set bit of a byte (entry 0 unused)
LOWEST_BIT = np.array([(k & -k).bit_length() - 1 if k else 0 for k in range(256)], dtype=np.int64)


@numba.njit(**NJIT)
def scan_raw(frames, t, p0, w, valid, idx, val):
    """Nonzero pixels of level-0 frame ``t`` in the tile [p0, p0+w); returns their count.

    The row is read as 64-bit words so that words of zero pixels are skipped with
    one test; inside a word the writes are branch-free (every pixel is written, the
    count advances on nonzero ones), so ``idx``/``val`` need ``w + 1`` entries.
    """
    if not valid:
        return 0
    row = frames[t, p0 : p0 + w]
    per_word = 8 // row.itemsize if row.itemsize <= 8 else 1
    n_words = w // per_word if per_word > 1 else 0
    n = 0
    if n_words:
        words = row[: n_words * per_word].view(np.uint64)
        for k in range(n_words):
            if words[k] != 0:
                for q in range(k * per_word, (k + 1) * per_word):
                    v = row[q]
                    idx[n] = q
                    val[n] = np.float64(v)
                    n += v != 0
    for q in range(n_words * per_word, w):
        v = row[q]
        idx[n] = q
        val[n] = np.float64(v)
        n += v != 0
    return n


@numba.njit(**NJIT)
def merge_pair(idx_a, val_a, n_a, idx_b, val_b, n_b, scale, idx_out, val_out):
    """The next-level frame from two sorted lists: (a + b)·scale per pixel; returns its length."""
    i = 0
    k = 0
    n = 0
    while i < n_a and k < n_b:
        ia = idx_a[i]
        ib = idx_b[k]
        if ia < ib:
            idx_out[n] = ia
            val_out[n] = (val_a[i] + 0.0) * scale
            i += 1
        elif ib < ia:
            idx_out[n] = ib
            val_out[n] = (0.0 + val_b[k]) * scale
            k += 1
        else:
            idx_out[n] = ia
            val_out[n] = (val_a[i] + val_b[k]) * scale
            i += 1
            k += 1
        n += 1
    for r in range(i, n_a):
        idx_out[n] = idx_a[r]
        val_out[n] = (val_a[r] + 0.0) * scale
        n += 1
    for r in range(k, n_b):
        idx_out[n] = idx_b[r]
        val_out[n] = (0.0 + val_b[r]) * scale
        n += 1
    return n


@numba.njit(**NJIT)
def ring_value(ring, base, packed, frame):
    """Value in ``frame`` of the pixel whose ring starts at ``base`` (state ``packed``)."""
    d = (packed >> 8) - frame
    if d >= 0 and d < 8 and (packed >> d) & 1:
        return ring[base + (frame & 7)]
    return 0.0


@numba.njit(inline="always", **NJIT)
def sparse_frame(level, index, valid, bad, good, idx, val, n, p0, w, n_pix, row_off,
                 g2, ipc, ifc, s, ring, state):
    """Add a sparse level frame (``n`` entries of ``idx``/``val``) to the sums.

    Same sums as :func:`xpcs_numpy._multitau_dense.dense_frame`, visiting only the
    nonzero pixels; a bad frame (no entries) visits the tile once when some of its
    partners are valid (IP correction).
    """
    n_lags = 8 if level == 0 else 4
    m0 = 1 if level == 0 else 5
    row0 = row_off[level]
    ring0 = level * 8 * n_pix
    g0 = row0 * n_pix
    st = state[level]
    lag_bits = 255 if level == 0 else 240
    if valid:
        fix = bad
        for j in range(n_lags):
            if m0 + j > index:
                fix |= 1 << j
        for e in range(n):
            p = p0 + idx[e]
            x = val[e]
            base = ring0 + p * 8
            packed = st[p]
            gap = index - (packed >> 8)
            # bit m-1 of ``have``: frame index-m of this pixel was nonzero; visit only those
            have = ((packed & 255) << min(gap - 1, 8)) & lag_bits
            g = g0 + p * n_lags - m0
            while have:
                m = LOWEST_BIT[have] + 1
                g2[g + m] += x * ring[base + ((index - m) & 7)]
                have &= have - 1
            ring[base + (index & 7)] = x
            st[p] = (index << 8) | ((((packed & 255) << min(gap, 8)) | 1) & 255)
            s[level * n_pix + p] += x
            if fix:
                for j in range(n_lags):
                    if (fix >> j) & 1:
                        ifc[(row0 + j) * n_pix + p] -= x
    elif good:
        for q in range(w):
            p = p0 + q
            base = ring0 + p * 8
            packed = st[p]
            for j in range(n_lags):
                if (good >> j) & 1:
                    ipc[(row0 + j) * n_pix + p] -= ring_value(ring, base, packed, index - m0 - j)

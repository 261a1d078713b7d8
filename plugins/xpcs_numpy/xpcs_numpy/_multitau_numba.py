"""Numba driver of the numpy backend's multi-tau: schedule a block, run it tile by tile.

A block of raw frames becomes a list of level-frame events (level, index, validity,
raw frame that completed it, valid constituents, bit masks of the lags whose partner
is bad/valid); the pair counts follow from it alone. The pixels are cut into tiles;
threads (``run_tiles`` releases the GIL) take every n-th tile and run all events of the
block on it, level by level: the low levels window by window (``WINDOW`` raw frames),
the levels from ``UPPER`` on once per block, so that one level's lag window of a tile is
in cache while its frames go by. Levels below ``n_sparse`` use the sparse kernels, the
others the dense ones. Importing this module imports numba (the hookimpl imports it
lazily).
"""

from __future__ import annotations

import numba
import numpy as np

from xpcs_numpy._multitau_dense import NJIT, dense_frame, load_raw
from xpcs_numpy._multitau_sparse import merge_pair, scan_raw, sparse_frame

EV_LEVEL, EV_INDEX, EV_VALID, EV_SRC, EV_COUNT, EV_BAD, EV_GOOD, EV_PAIR = range(8)
WINDOW = 64  # raw frames per time window of a tile
UPPER = 3  # levels from here on (and above the sparse ones) are visited once per block


@numba.njit(**NJIT)
def schedule(valid, n_levels, n_seen, ring_valid, n_pairs, row_off):
    """Events of one block; updates the frame counts, ring validity and pair counts.

    Columns: level, index in the level, valid, raw frame of the block that completed
    it, number of valid constituents, bit masks of the lags whose partner is bad /
    valid, and (odd indices) the valid constituents of the next-level frame it completes.
    """
    cap = 2 * valid.size + n_levels + 1
    ev = np.zeros((cap, 8), dtype=np.int64)
    ne = 0
    for t in range(valid.size):
        level = 0
        v = 1 if valid[t] else 0
        count = v
        while True:
            i = n_seen[level]
            n_lags = 8 if level == 0 else 4
            m0 = 1 if level == 0 else 5
            bad = 0
            good = 0
            for j in range(n_lags):
                m = m0 + j
                if i >= m:
                    if ring_valid[level, (i - m) & 7]:
                        good |= 1 << j
                        n_pairs[row_off[level] + j] += v
                    else:
                        bad |= 1 << j
            ev[ne, EV_LEVEL] = level
            ev[ne, EV_INDEX] = i
            ev[ne, EV_VALID] = v
            ev[ne, EV_SRC] = t
            ev[ne, EV_COUNT] = count
            ev[ne, EV_BAD] = bad
            ev[ne, EV_GOOD] = good
            ring_valid[level, i & 7] = v
            n_seen[level] = i + 1
            if (i & 1) == 0 or level + 1 >= n_levels:
                ne += 1
                break
            count = ring_valid[level, (i - 1) & 7] + v
            ev[ne, EV_PAIR] = count
            ne += 1
            v = 1 if count > 0 else 0
            level += 1
    return ev[:ne]


@numba.njit(**NJIT)
def _pair_dense(idx_a, val_a, n_a, idx_b, val_b, n_b, scale, out):
    """Dense next-level frame from two sparse lists: (a + b)·scale, zeros elsewhere."""
    out[:] = 0.0
    for k in range(n_a):
        out[idx_a[k]] = val_a[k]
    for k in range(n_b):
        out[idx_b[k]] += val_b[k]
    if scale != 1.0:
        for q in range(out.size):
            out[q] *= scale


@numba.njit(**NJIT)
def _level_pass(frames, ev, e0, e1, level, tile, p0, w, n_pix, n_levels, n_sparse, row_off, g2,
                ipc, ifc, s, ring, last, pend_idx, pend_val, pend_n, x, din, dout, out0,
                lin_idx, lin_val, lin_n, lout_idx, lout_val, lout_n):
    """Events e0..e1 (one level) of one tile; returns the next-level frames made.

    Input frames of the events: raw rows (level 0), rows of ``din`` (dense) or lists
    ``lin_*`` (sparse). Next-level frames go to rows ``out0...`` of ``dout`` (dense) or to
    the lists ``lout_*`` (while the next level is sparse).
    """
    sparse = level < n_sparse
    feeds = level + 1 < n_levels
    n_out = 0
    for e in range(e0, e1):
        k = e - e0
        i = ev[e, EV_INDEX]
        v = ev[e, EV_VALID] != 0
        if sparse:
            if level == 0:
                n = scan_raw(frames, ev[e, EV_SRC], p0, w, v, lin_idx[0], lin_val[0])
                cidx, cval = lin_idx[0], lin_val[0]
            else:
                n = lin_n[k]
                cidx, cval = lin_idx[k], lin_val[k]
            if level == 0:  # a constant level lets the compiler unroll the 8 lags
                sparse_frame(0, i, v, ev[e, EV_BAD], ev[e, EV_GOOD], cidx, cval, n, p0, w,
                             n_pix, row_off, g2, ipc, ifc, s, ring, last)
            else:
                sparse_frame(level, i, v, ev[e, EV_BAD], ev[e, EV_GOOD], cidx, cval, n, p0,
                             w, n_pix, row_off, g2, ipc, ifc, s, ring, last)
            if not feeds:
                continue
            if (i & 1) == 0:
                pend_idx[level, p0 : p0 + n] = cidx[:n]
                pend_val[level, p0 : p0 + n] = cval[:n]
                pend_n[level, p0 // tile] = n
                continue
            scale = 1.0 / max(ev[e, EV_PAIR], 1)
            m = pend_n[level, p0 // tile]
            if level + 1 < n_sparse:
                lout_n[n_out] = merge_pair(pend_idx[level, p0 : p0 + m],
                                           pend_val[level, p0 : p0 + m], m, cidx, cval, n, scale,
                                           lout_idx[n_out], lout_val[n_out])
            else:  # the next level is dense: (a + b)*scale, as merge_pair and the dense path
                r = (out0 + n_out) * tile
                _pair_dense(pend_idx[level, p0 : p0 + m], pend_val[level, p0 : p0 + m], m,
                            cidx, cval, n, scale, dout[r : r + w])
            n_out += 1
            continue
        if level == 0:
            load_raw(frames, ev[e, EV_SRC], p0, x, v)
            cur = x
        else:
            cur = din[k * tile : k * tile + w]
        if feeds and (i & 1):
            r = level * 8 * n_pix + ((i - 1) & 7) * n_pix + p0
            prev = ring[r : r + w]
            scale = 1.0 / max(ev[e, EV_PAIR], 1)
            r = (out0 + n_out) * tile
            out = dout[r : r + w]
            for q in range(w):
                out[q] = (prev[q] + cur[q]) * scale
            n_out += 1
        if level == 0:
            dense_frame(0, i, v, ev[e, EV_BAD], ev[e, EV_GOOD], cur, p0, n_pix, row_off,
                        g2, ipc, ifc, s, ring)
        else:
            dense_frame(level, i, v, ev[e, EV_BAD], ev[e, EV_GOOD], cur, p0, n_pix,
                        row_off, g2, ipc, ifc, s, ring)
    return n_out


@numba.njit(**NJIT)
def _run_tile(frames, ev, starts, tile, p0, w, n_pix, n_levels, n_sparse, row_off, g2, ipc, ifc,
              s, ring, last, pend_idx, pend_val, pend_n, buf):
    """All events of the block for one tile, level by level.

    Levels below ``upper`` go window by window (WINDOW raw frames): in a window the
    level-L frames are made, and the level-(L+1) frames built from them, before level
    L+1 is visited, so one level's lag window is hot at a time. The frames of level
    ``upper`` are collected over the whole block and the levels from ``upper`` on are
    visited once per block: their state is read once per block, not once per window.
    """
    x, din, dout, up_in, up_out, lin_idx, lin_val, lout_idx, lout_val, lin_n, lout_n = buf
    upper = min(max(n_sparse, UPPER), n_levels)
    ptr = starts[:n_levels].copy()
    n_up = 0
    for t0 in range(0, frames.shape[0], WINDOW):
        t1 = t0 + WINDOW
        for level in range(upper):
            e0 = ptr[level]
            e1 = e0
            while e1 < starts[level + 1] and ev[e1, EV_SRC] < t1:
                e1 += 1
            if e1 == e0:
                break
            ptr[level] = e1
            last_low = level + 1 == upper
            target = up_in if last_low else dout
            out0 = n_up if last_low else 0
            n_out = _level_pass(frames, ev, e0, e1, level, tile, p0, w, n_pix, n_levels, n_sparse,
                                row_off, g2, ipc, ifc, s, ring, last, pend_idx, pend_val, pend_n,
                                x, din, target, out0, lin_idx, lin_val, lin_n, lout_idx, lout_val,
                                lout_n)
            if last_low:
                n_up += n_out
            din, dout = dout, din
            lin_idx, lout_idx = lout_idx, lin_idx
            lin_val, lout_val = lout_val, lin_val
            lin_n, lout_n = lout_n, lin_n
    for level in range(upper, n_levels):
        e0, e1 = starts[level], starts[level + 1]
        if e1 == e0:
            break
        _level_pass(frames, ev, e0, e1, level, tile, p0, w, n_pix, n_levels, n_sparse, row_off,
                    g2, ipc, ifc, s, ring, last, pend_idx, pend_val, pend_n, x, up_in, up_out, 0,
                    lin_idx, lin_val, lin_n, lout_idx, lout_val, lout_n)
        up_in, up_out = up_out, up_in


@numba.njit(**NJIT)
def run_tiles(frames, ev, starts, tile, first, step, n_levels, n_sparse, row_off, g2, ipc, ifc,
              s, ring, last, pend_idx, pend_val, pend_n):
    """Run the events of one block (sorted by level, ``starts`` per level) over the tiles
    first, first+step, ... (GIL released)."""
    n_pix = frames.shape[1]
    n_tiles = (n_pix + tile - 1) // tile
    rows = WINDOW // 2 + 2
    upper = min(max(n_sparse, UPPER), n_levels)
    up_rows = 1
    for level in range(upper, n_levels):
        up_rows = max(up_rows, starts[level + 1] - starts[level])
    wl = tile + 1 if n_sparse else 1
    buf = (np.empty(tile), np.empty(rows * tile), np.empty(rows * tile),
           np.empty(up_rows * tile), np.empty(up_rows * tile),
           np.empty((rows, wl), dtype=np.int32), np.empty((rows, wl)),
           np.empty((rows, wl), dtype=np.int32), np.empty((rows, wl)),
           np.zeros(rows, dtype=np.int64), np.zeros(rows, dtype=np.int64))
    for k in range(first, n_tiles, step):
        p0 = k * tile
        w = min(tile, n_pix - p0)
        _run_tile(frames, ev, starts, tile, p0, w, n_pix, n_levels, n_sparse, row_off, g2, ipc,
                  ifc, s, ring, last, pend_idx, pend_val, pend_n, _views(buf, w))


@numba.njit(**NJIT)
def _views(buf, w):
    x, din, dout, up_in, up_out, li, lv, oi, ov, ln, on = buf
    return (x[:w], din, dout, up_in, up_out, li, lv, oi, ov, ln, on)


@numba.njit(**NJIT)
def count_nonzero(frames, valid):
    """(nonzero pixels, pixels, total counts) over the valid frames of a block."""
    nz = 0
    tot = 0
    counts = 0.0
    for t in range(frames.shape[0]):
        if valid[t]:
            tot += frames.shape[1]
            for p in range(frames.shape[1]):
                v = frames[t, p]
                counts += v
                nz += v != 0
    return nz, tot, counts

"""Pure functions of the jax multi-tau: one block of frames, one tail frame (docs/physics.md
"Multi-tau correlation"). Written against ``jax.numpy`` (passed in as ``jnp``) and ``lax``;
:mod:`xpcs_jax.multitau` jits them. Importing this module does not import jax.

State (a dict of fixed-shape float64 arrays, ``N`` levels, ``R`` lag rows, ``P`` pixels):
``ring`` (N, 8, P) the last 8 frames of each level, oldest first, bad or missing ones as
zeros; ``ring_w`` (N, 8) their validity; ``pend`` (N, P), ``pend_w`` (N,), ``pend_has``
(N,) the frame of each level that waits for its pair partner; ``g2``, ``ip``, ``i_f``
(R, P) the per-lag sums over valid pairs and ``n_pairs`` (R,) their counts.

A block has ``B = 2**b`` frames and starts at a multiple of ``B``, so levels 0..b split
it into whole pairs: they are processed with vectorised sums over the block's frames.
The one level-b frame of a block then climbs the higher levels through the pending
frames with masked (branch-free) updates; the tail frames of a stack take that path
from level 0.
"""

from __future__ import annotations

from typing import Any

from xpcs_core.kernels.multitau import FIRST_LEVEL_LAGS, LEVEL_LAGS, level_lags


def init_state(jnp: Any, n_levels: int, n_rows: int, n_pix: int) -> dict[str, Any]:
    f8 = jnp.float64
    return {
        "ring": jnp.zeros((n_levels, 8, n_pix), f8), "ring_w": jnp.zeros((n_levels, 8), f8),
        "pend": jnp.zeros((n_levels, n_pix), f8), "pend_w": jnp.zeros(n_levels, f8),
        "pend_has": jnp.zeros(n_levels, bool),
        "g2": jnp.zeros((n_rows, n_pix), f8), "ip": jnp.zeros((n_rows, n_pix), f8),
        "i_f": jnp.zeros((n_rows, n_pix), f8), "n_pairs": jnp.zeros(n_rows, f8),
    }


def _row0(level: Any) -> Any:
    """First lag row of ``level`` (8 rows at level 0, 4 per level above)."""
    return 8 + 4 * (level - 1)


def _add_rows(lax: Any, state: dict, row0: Any, g2: Any, ip: Any, i_f: Any, n: Any) -> dict:
    out = dict(state)
    for key, val in (("g2", g2), ("ip", ip), ("i_f", i_f)):
        cur = lax.dynamic_slice_in_dim(state[key], row0, val.shape[0], axis=0)
        out[key] = lax.dynamic_update_slice_in_dim(state[key], cur + val, row0, axis=0)
    cur = lax.dynamic_slice_in_dim(state["n_pairs"], row0, n.shape[0])
    out["n_pairs"] = lax.dynamic_update_slice_in_dim(state["n_pairs"], cur + n, row0, axis=0)
    return out


def block_level(jnp: Any, lax: Any, state: dict, level: int, x: Any, w: Any) -> dict:
    """Frames ``x`` (n, P) with validity ``w`` (n,) of ``level``, all pairs with the ring."""
    n = x.shape[0]
    ext = jnp.concatenate([state["ring"][level], x])
    w_ext = jnp.concatenate([state["ring_w"][level], w])
    late = ext[8:]
    lags = level_lags(level)
    g2 = jnp.stack([jnp.sum(ext[8 - m : 8 - m + n] * late, axis=0) for m in lags])
    ip = jnp.stack([w @ ext[8 - m : 8 - m + n] for m in lags])
    w_early = jnp.stack([w_ext[8 - m : 8 - m + n] for m in lags])  # (lags, n)
    row0 = 0 if level == 0 else _row0(level)
    out = _add_rows(lax, state, row0, g2, ip, w_early @ late, w_early @ w)
    out["ring"] = state["ring"].at[level].set(ext[-8:])
    out["ring_w"] = state["ring_w"].at[level].set(w_ext[-8:])
    return out


def frame_level(jnp: Any, lax: Any, state: dict, level: Any, x: Any, w: Any, act: Any,
                lags: tuple[int, ...]) -> dict:
    """One frame ``x`` (P,) of ``level`` (may be traced) with validity ``w``, counted when ``act``."""
    ring, ring_w = state["ring"][level], state["ring_w"][level]
    a = act.astype(jnp.float64)
    early = jnp.stack([ring[8 - m] for m in lags])
    w_early = jnp.stack([ring_w[8 - m] for m in lags])
    row0 = 0 if lags[0] == 1 else _row0(level)
    out = _add_rows(lax, state, row0, a * early * x, (a * w) * early, (a * w_early)[:, None] * x,
                    a * w_early * w)
    shifted = jnp.concatenate([ring[1:], x[None]])
    out["ring"] = state["ring"].at[level].set(jnp.where(act, shifted, ring))
    out["ring_w"] = state["ring_w"].at[level].set(
        jnp.where(act, jnp.concatenate([ring_w[1:], w[None]]), ring_w))
    return out


def pair_up(jnp: Any, state: dict, level: Any, x: Any, w: Any, act: Any) -> tuple:
    """Offer frame ``x`` of ``level`` as a pair constituent; returns the next-level frame.

    Returns ``(state, frame, validity, active)``: active when ``x`` completed a pair.
    """
    has, p, p_w = state["pend_has"][level], state["pend"][level], state["pend_w"][level]
    count = p_w + w
    frame = (p + x) * (1.0 / jnp.maximum(count, 1.0))
    store = act & ~has
    out = dict(state)
    out["pend"] = state["pend"].at[level].set(jnp.where(store, x, p))
    out["pend_w"] = state["pend_w"].at[level].set(jnp.where(store, w, p_w))
    out["pend_has"] = state["pend_has"].at[level].set(jnp.where(act, ~has, has))
    return out, frame, (count > 0).astype(jnp.float64), act & has


def climb(jnp: Any, lax: Any, n_levels: int, state: dict, level: int, x: Any, w: Any,
          act: Any) -> dict:
    """Frame ``x`` of ``level`` (already counted there) up through levels level+1..N-1."""
    if level + 1 >= n_levels:
        return state

    def body(up: Any, carry: tuple) -> tuple:
        st, frame, fw, on = carry
        st, frame, fw, on = pair_up(jnp, st, up - 1, frame, fw, on)
        return frame_level(jnp, lax, st, up, frame, fw, on, LEVEL_LAGS), frame, fw, on

    return lax.fori_loop(level + 1, n_levels, body, (state, x, w, act))[0]


def block_step(jnp: Any, lax: Any, n_levels: int, state: dict, frames: Any, valid: Any) -> dict:
    """One aligned block (B, P) of raw frames (any dtype) with validity (B,)."""
    w = valid.astype(jnp.float64)
    x = jnp.where(valid[:, None], frames.astype(jnp.float64), 0.0)
    level = 0
    while True:
        state = block_level(jnp, lax, state, level, x, w)
        if level + 1 >= n_levels or x.shape[0] == 1:
            break
        count = w[0::2] + w[1::2]
        x = (x[0::2] + x[1::2]) * (1.0 / jnp.maximum(count, 1.0))[:, None]
        w = (count > 0).astype(jnp.float64)
        level += 1
    return climb(jnp, lax, n_levels, state, level, x[0], w[0], jnp.asarray(True))


def frame_step(jnp: Any, lax: Any, n_levels: int, state: dict, frame: Any, valid: Any) -> dict:
    """One raw frame (P,) through every level (the tail of a stack)."""
    w = valid.astype(jnp.float64)
    x = jnp.where(valid, frame.astype(jnp.float64), 0.0)
    act = jnp.asarray(True)
    state = frame_level(jnp, lax, state, 0, x, w, act, FIRST_LEVEL_LAGS)
    return climb(jnp, lax, n_levels, state, 0, x, w, act)

"""Streaming multi-tau on JAX (hookimpl ``xpcs_multitau_accumulator``).

docs/physics.md "Multi-tau correlation". Frames are gathered on the host into aligned
blocks of ``block`` frames; a jitted ``lax.scan`` runs groups of blocks through
:func:`xpcs_jax._multitau_scan.block_step` with a fixed-size state that lives on the
device (the GPU when there is one); the last ``< group·block`` frames go through the
jitted one-frame step at ``finish``. Data are arguments of the jitted functions, never
closed over; shapes depend only on (pixels, levels, block, group, dtype), so a run
compiles two functions (and jax's persistent cache keeps them). Memory: the state, (3·R + 9·N)·P float64 on the
device, plus one group of frames (``group·block`` frames in their own dtype) on the host.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels.multitau import (
    MultitauOptions,
    MultitauSums,
    canonical_dtype,
    check_block,
    check_setup,
    finish_sums,
    lag_rows,
    level_count,
)
from xpcs_jax.runtime import device, jax_module

__all__ = ["xpcs_multitau_accumulator", "JaxMultitau"]

BLOCK = 64  # frames per scan step at most (a power of two; fewer for short stacks)
GROUP = 4  # blocks per scan call


@functools.cache
def _compiled(kind: str, n_levels: int) -> Any:
    """The jitted scan over blocks (``kind="blocks"``) or the one-frame step (``"frame"``)."""
    jax = jax_module()
    import jax.numpy as jnp
    from jax import lax

    from xpcs_jax import _multitau_scan as ms

    if kind == "frame":
        return jax.jit(functools.partial(ms.frame_step, jnp, lax, n_levels), donate_argnums=0)

    def scan(state: dict, frames: Any, valid: Any) -> dict:
        def body(carry: dict, item: tuple) -> tuple[dict, None]:
            return ms.block_step(jnp, lax, n_levels, carry, item[0], item[1]), None

        return jax.lax.scan(body, state, (frames, valid))[0]

    return jax.jit(scan, donate_argnums=0)


class JaxMultitau:
    """Multi-tau accumulator on JAX (see the module docstring)."""

    def __init__(self, n_pixels: int, n_frames: int, options: MultitauOptions,
                 block: int | None = None, group: int = GROUP) -> None:
        from xpcs_core.errors import XpcsInputError

        check_setup(n_pixels, n_frames, options)
        if block is None:  # compile time grows with log2(block): small stacks get small blocks
            block = 1 << int(np.clip(np.log2(max(n_frames // 16, 1)), 3, np.log2(BLOCK)))
        if block < 1 or block & (block - 1) or group < 1:
            raise XpcsInputError(
                f"multitau: block must be a power of two and group >= 1, got {block}, {group}")
        self.n_pixels, self.n_frames, self.frames_seen = int(n_pixels), int(n_frames), 0
        self.n_levels = level_count(self.n_frames, options.n_levels)
        _, _, self._delays = lag_rows(self.n_levels)
        self._block, self._group = int(block), int(group)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._n_pending = 0
        self._state: dict | None = None
        self._result: MultitauSums | None = None

    def _ensure_state(self) -> dict:
        if self._state is None:
            jax = jax_module()
            import jax.numpy as jnp

            from xpcs_jax._multitau_scan import init_state

            with jax.default_device(device()):
                self._state = init_state(jnp, self.n_levels, self._delays.size, self.n_pixels)
        return self._state

    def update(self, frames: Any, valid: np.ndarray | None = None) -> None:
        from xpcs_core.errors import XpcsInputError

        if self._result is not None:
            raise XpcsInputError("multitau: update after finish")
        given = np.asarray(frames)
        w = check_block(given, valid, self.n_pixels, self.frames_seen, self.n_frames)
        frames = given.astype(canonical_dtype(given.dtype), copy=False)
        self.frames_seen += frames.shape[0]
        if frames.shape[0]:
            self._pending.append((frames, w))
            self._n_pending += frames.shape[0]
        self._run(final=False)
        if self._pending and np.may_share_memory(self._pending[-1][0], given):
            kept, kept_w = self._pending[-1]  # the caller may reuse its array: keep a copy
            self._pending[-1] = (kept.copy(), kept_w.copy())

    def _take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``n`` pending frames as one array (copied only when they span chunks)."""
        parts, got = [], 0
        while got < n:
            frames, w = self._pending[0]
            k = min(n - got, frames.shape[0])
            parts.append((frames[:k], w[:k]))
            if k == frames.shape[0]:
                self._pending.pop(0)
            else:
                self._pending[0] = (frames[k:], w[k:])
            got += k
        self._n_pending -= n
        if len(parts) == 1:
            return parts[0]
        dtype = np.result_type(*[p[0].dtype for p in parts])
        return (np.concatenate([p[0].astype(dtype, copy=False) for p in parts]),
                np.concatenate([p[1] for p in parts]))

    def _run(self, final: bool) -> None:
        jax = jax_module()
        b = self._block
        size = self._group * b
        while self._n_pending >= size:
            frames, w = self._take(size)
            state, dev = self._ensure_state(), device()
            self._state = _compiled("blocks", self.n_levels)(
                state, jax.device_put(frames.reshape(self._group, b, -1), dev),
                jax.device_put(w.reshape(self._group, b), dev))
        if final:
            step = _compiled("frame", self.n_levels)
            while self._n_pending:
                frames, w = self._take(1)
                self._state = step(self._ensure_state(), jax.device_put(frames[0], device()),
                                   jax.device_put(w[0], device()))

    def finish(self) -> MultitauSums:
        if self._result is None:
            self._run(final=True)
            st = self._ensure_state()
            host = {k: np.asarray(st[k]) for k in ("g2", "ip", "i_f", "n_pairs")}
            self._state = None
            self._result = finish_sums(self._delays, np.rint(host["n_pairs"]).astype(np.int64),
                                       host["g2"], host["ip"], host["i_f"], "dense")
        return self._result


@hookimpl
def xpcs_multitau_accumulator(n_pixels: int, n_frames: int, options: MultitauOptions) -> Any:
    return JaxMultitau(n_pixels, n_frames, options)

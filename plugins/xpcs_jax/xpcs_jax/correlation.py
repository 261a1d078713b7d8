"""Multi-tau and two-time correlation on JAX: the shared kernels, jit-compiled per block shape."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import correlation
from xpcs_jax.runtime import device, jax_module

__all__ = ["xpcs_multitau", "xpcs_twotime"]


@functools.cache
def _compiled() -> tuple[Any, Any]:
    jax = jax_module()
    import jax.numpy as jnp

    def multitau(frames, n_levels):
        out = correlation.multitau(jnp, frames, n_levels)
        return out["G2"], out["IP"], out["IF"]

    return (
        jax.jit(multitau, static_argnames="n_levels"),
        jax.jit(functools.partial(correlation.twotime, jnp)),
    )


def _put(frames: Any) -> Any:
    return jax_module().device_put(np.asarray(frames, dtype=np.float64), device())


@hookimpl
def xpcs_multitau(frames: Any, n_levels: int | None) -> dict[str, Any]:
    multitau, _ = _compiled()
    g2, ip, i_f = multitau(_put(frames), n_levels=n_levels)
    return {
        "delays": correlation.multitau_delays(np.shape(frames)[0], n_levels),
        "G2": g2,
        "IP": ip,
        "IF": i_f,
    }


@hookimpl
def xpcs_twotime(frames: Any) -> Any:
    _, twotime = _compiled()
    return twotime(_put(frames))

"""Q-map, partition and binned-mean hooks of the JAX backend.

The kernels of :mod:`xpcs_core.kernels` are jit-compiled once per geometry kind and
shape (partition steps: once per map count and static options); every array and scalar
goes in as an argument, never as a closed-over constant. jax is imported on first use
through :func:`xpcs_jax.runtime.jax_module` (float64 on, device chosen).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import partition, qmap

from xpcs_jax.runtime import device, jax_module

__all__ = ["xpcs_compute_qmap", "xpcs_partition", "xpcs_binned_mean"]

_lock = threading.Lock()
_compiled: dict[str, Callable[..., Any]] = {}


def _jitted(name: str, fn: Callable[..., Any], static: tuple[str, ...]) -> Callable[..., Any]:
    """``jax.jit(fn bound to jax.numpy)`` built once per process (jax caches per shape)."""
    with _lock:
        if name not in _compiled:
            jax = jax_module()
            import jax.numpy as jnp

            _compiled[name] = jax.jit(functools.partial(fn, jnp), static_argnames=static)
        return _compiled[name]


def _to_device(array: Any) -> Any:
    return jax_module().device_put(array, device())


@hookimpl
def xpcs_compute_qmap(geometry: Any) -> dict[str, Any]:
    kind, static, values = qmap.arguments(geometry)
    fn = _jitted(f"qmap_{kind}", qmap.KERNELS[kind], tuple(static))
    return fn(**static, **values)


@hookimpl
def xpcs_partition(maps: dict[str, np.ndarray], mask: np.ndarray, spec: Any) -> dict[str, Any]:
    prepare = _jitted("partition_prepare", partition.prepare, ("phi_index",))
    assign = _jitted("partition_assign", partition.assign, ())
    return partition.run_partition(
        jax_module().numpy, maps, mask, spec, to_device=_to_device, to_host=np.asarray,
        prepare_fn=prepare, assign_fn=assign,
    )


def _binned_mean(jnp: Any, data: Any, labels: Any, n_labels: int, batch: int) -> tuple[Any, Any]:
    """(..., *labels.shape) stack -> (..., K) means, (K,) counts.

    One ``segment_sum`` per frame in float64, ``batch`` frames at a time (``lax.map``):
    vmapping the whole stack makes XLA materialise it in float64 and runs 5x slower on
    a CPU; batches keep the scatter in cache.
    """
    import jax

    segments = n_labels + 1
    lead = data.shape[: data.ndim - labels.ndim]
    labels = labels.reshape(-1)
    # reshaping inside the compiled function is free; outside it would copy the stack
    data = data.reshape(-1, labels.size)

    def frame_sums(frame: Any) -> Any:
        return jax.ops.segment_sum(frame.astype(jnp.float64), labels, num_segments=segments)

    sums = jax.lax.map(frame_sums, data, batch_size=batch)[:, 1:]
    counts = jax.ops.segment_sum(jnp.ones(labels.shape, jnp.int64), labels, num_segments=segments)[1:]
    safe = jnp.where(counts > 0, counts, 1).astype(jnp.float64)
    means = jnp.where(counts > 0, sums / safe, jnp.nan)
    return means.reshape(*lead, n_labels), counts


def _stack_on_device(data: Any) -> Any:
    """The stack as a jax array: as is when it already is one; a NumPy array is shared
    without a copy when jax allows it (64-byte aligned, CPU), else copied."""
    jax = jax_module()
    if isinstance(data, jax.Array):
        return data
    host = np.asarray(data)
    try:
        return jax.device_put(host, device(), may_alias=True)
    except TypeError:  # older jax without may_alias
        return jax.device_put(host, device())


@hookimpl
def xpcs_binned_mean(data: Any, labels: np.ndarray, n_labels: int) -> tuple[Any, Any]:
    fn = _jitted("binned_mean", _binned_mean, ("n_labels", "batch"))
    labels = np.asarray(labels)
    batch = int(np.clip((1 << 24) // max(labels.size, 1), 2, 64))
    return fn(_stack_on_device(data), _to_device(labels), n_labels=int(n_labels), batch=batch)

"""Partition kernels (docs/physics.md, "Partitions"): one implementation for every backend.

A partition assigns each pixel the natural bin index ``i0·n1 + i1`` of its values in
one or two maps. The steps, each usable with any namespace ``xp``:

1. :func:`transform_phi` -- offset wrap into (−180, 180] and symmetry fold;
2. :func:`valid_pixels` -- mask, finite values, user range limits (and > 0 for log);
3. :func:`value_limits` -- min and max of each map over the valid pixels (exact in every
   backend, so the edges derived from them on the host are identical everywhere);
4. :func:`bin_edges` (host, NumPy) -- linear or logarithmic edges;
5. :func:`assign` -- digitize on values rounded to 12 decimals. The rounding is carried
   out as ``rint(value·1e12)`` against ``rint(edge·1e12)``: multiplication and rint
   are exactly rounded IEEE operations on every platform, so labels agree bit for bit
   across backends (no division, no transcendental functions involved).

A value on an interior edge belongs to the bin above it; the exact maximum belongs to
the last bin; invalid pixels get −1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from xpcs_core.errors import XpcsInputError

class Assignment(NamedTuple):
    """What ``xpcs_partition`` returns: each pixel's natural bin index and the edges used.

    ``natural_index`` (H, W) int64, the 0-based natural bin index i0·n1 + i1 of each
    pixel, −1 for masked, non-finite or out-of-range pixels (an array of the backend);
    ``edges`` a list of float64 edge arrays (n+1 each), one per map.
    """

    natural_index: Any
    edges: list[Any]


SCALE = 1e12
"""Values are compared after rounding to 12 decimals, as integers in units of 1e-12."""


def transform_phi(xp: Any, phi: Any, offset: Any, period: Any) -> Any:
    """Apply an azimuth offset and a symmetry fold to a phi map (degrees).

    A non-zero ``offset`` wraps phi − offset into (−180, 180]; a ``period`` > 0
    (360/f for a fold f ≥ 2, computed on the host) maps the result to
    (phi + 180) mod period, in [0, period). Zero offset and period leave phi unchanged.
    Both may be traced values: the choice is made per element, not by recompiling.
    """
    wrapped = 180.0 - xp.remainder(180.0 - (phi - offset), 360.0)
    # remainder may round up to the divisor itself: 180 - 360 = -180 means +180
    wrapped = xp.where(wrapped <= -180.0, wrapped + 360.0, wrapped)
    out = xp.where(offset != 0.0, wrapped, phi)
    safe = xp.where(period > 0.0, period, 360.0)
    folded = xp.remainder(out + 180.0, safe)
    folded = xp.where(folded >= safe, folded - safe, folded)
    return xp.where(period > 0.0, folded, out)


def valid_pixels(xp: Any, values: Sequence[Any], mask: Any, lo: Any, hi: Any, positive: Any) -> Any:
    """Boolean map: good pixel, finite in every map, inside [lo[i], hi[i]], and > 0 where
    ``positive[i]`` (log bins)."""
    valid = mask
    for i, value in enumerate(values):
        valid = valid & xp.isfinite(value) & (value >= lo[i]) & (value <= hi[i])
        valid = valid & ((value > 0.0) | xp.logical_not(positive[i]))
    return valid


def value_limits(xp: Any, values: Sequence[Any], valid: Any) -> Any:
    """(n_maps, 2) float64: min and max of each map over ``valid`` (inf, −inf if none)."""
    rows = []
    for value in values:
        rows.append(xp.min(xp.where(valid, value, xp.inf)))
        rows.append(xp.max(xp.where(valid, value, -xp.inf)))
    return xp.reshape(xp.stack(rows), (len(values), 2))


def assign(xp: Any, values: Sequence[Any], valid: Any, scaled_edges: Sequence[Any],
           counts: Sequence[Any]) -> Any:
    """Natural bin index (int64) of each pixel; −1 where invalid or outside the edges.

    ``scaled_edges[i]`` are ``rint(edges·1e12)`` (:func:`scale_edges`), possibly padded
    with +inf after the ``counts[i] + 1`` real edges (see :func:`padded`), so one
    compiled kernel serves many bin counts.
    """
    natural = None
    for value, edges, n in zip(values, scaled_edges, counts, strict=True):
        r = xp.round(value * SCALE)
        inside = (r >= edges[0]) & (r <= edges[n])
        index = xp.searchsorted(edges, r, side="right") - 1
        index = xp.clip(index, 0, n - 1).astype(xp.int64)
        valid = valid & inside
        natural = index if natural is None else natural * n + index
    return xp.where(valid, natural, xp.asarray(-1, dtype=xp.int64))


# ------------------------------------------------------------------ host side (NumPy)
def bin_edges(vmin: float, vmax: float, n: int, scale: str = "linear", name: str = "map") -> np.ndarray:
    """``n + 1`` float64 edges from ``vmin`` to ``vmax`` (both exact), linear or log.

    Raises XpcsInputError when the range is empty or degenerate for ``n`` bins.
    """
    vmin, vmax = float(vmin), float(vmax)
    if not (np.isfinite(vmin) and np.isfinite(vmax)) or vmin > vmax:
        raise XpcsInputError(f"{name}: no unmasked pixel inside the requested range")
    if vmin == vmax and n > 1:
        raise XpcsInputError(
            f"{name}: all unmasked pixels have the same value {vmin:g}; cannot make {n} bins"
        )
    if scale == "log":
        if vmin <= 0.0:
            raise XpcsInputError(f"{name}: logarithmic bins need positive values, got minimum {vmin:g}")
        edges = np.logspace(np.log10(vmin), np.log10(vmax), n + 1)
    elif scale == "linear":
        edges = np.linspace(vmin, vmax, n + 1)
    else:
        raise XpcsInputError(f"{name}: scale must be 'linear' or 'log', got {scale!r}")
    edges[0], edges[-1] = vmin, vmax
    return edges


def scale_edges(edges: np.ndarray) -> np.ndarray:
    """Edges rounded to 12 decimals, as integers in units of 1e-12 (float64)."""
    return np.round(np.asarray(edges, dtype=np.float64) * SCALE)


def bin_centres(edges: np.ndarray, scale: str = "linear") -> np.ndarray:
    """Midpoints (linear) or geometric means (log) of adjacent edges."""
    edges = np.asarray(edges, dtype=np.float64)
    if scale == "log":
        return np.sqrt(edges[:-1] * edges[1:])
    return 0.5 * (edges[:-1] + edges[1:])


# ------------------------------------------------------------------ driver
def prepare(xp: Any, values: Sequence[Any], mask: Any, offset: Any, period: Any, lo: Any,
            hi: Any, positive: Any, *, phi_index: int) -> tuple[Any, Any, Any]:
    """Step 1 (compilable): transformed values, valid map and per-map (min, max).

    ``phi_index`` (static) is the position of the phi map in ``values`` (−1: none);
    ``lo``/``hi`` (n_maps,) range limits (±inf when open), ``positive`` (n_maps,) bool.
    """
    values = list(values)
    if phi_index >= 0:
        values[phi_index] = transform_phi(xp, values[phi_index], offset, period)
    valid = valid_pixels(xp, values, mask, lo, hi, positive)
    return values, valid, value_limits(xp, values, valid)


def padded(edges: np.ndarray) -> np.ndarray:
    """Scaled edges padded with +inf to a power-of-two length (>= 16): bin counts in the
    same bucket share one compiled kernel."""
    size = max(16, 1 << int(np.ceil(np.log2(edges.size))))
    return np.concatenate([edges, np.full(size - edges.size, np.inf)])


def spec_edges(spec: Any, limits: np.ndarray) -> list[np.ndarray]:
    """Host side: the edges of each map of ``spec`` from the data limits (n_maps, 2)."""
    edges = []
    explicit = getattr(spec, "edges", None) or (None,) * len(spec.maps)
    for dim, name in enumerate(spec.maps):
        given = explicit[dim]
        if given is not None:
            edges.append(np.asarray(given, dtype=np.float64))
            continue
        lo, hi = spec.ranges[dim]
        vmin = limits[dim, 0] if lo is None else lo
        vmax = limits[dim, 1] if hi is None else hi
        if not np.isfinite(limits[dim, 0]):  # no valid pixel at all
            vmin, vmax = np.inf, -np.inf
        scale = spec.scale if dim == 0 else "linear"
        edges.append(bin_edges(vmin, vmax, spec.bins[dim], scale, name=name))
    return edges


def run_partition(
    xp: Any,
    maps: Mapping[str, Any],
    mask: Any,
    spec: Any,
    *,
    to_device: Callable[[Any], Any],
    to_host: Callable[[Any], np.ndarray],
    prepare_fn: Callable[..., Any] | None = None,
    assign_fn: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Natural bin index of every pixel for ``spec`` (a PartitionSpec), on namespace ``xp``.

    ``prepare_fn``/``assign_fn`` default to :func:`prepare`/:func:`assign` bound to
    ``xp``; a backend passes compiled versions (same signatures without ``xp``).
    Returns an :class:`Assignment`.
    """
    names = tuple(spec.maps)
    values = [to_device(np.asarray(maps[name], dtype=np.float64)) for name in names]
    mask_d = to_device(np.asarray(mask, dtype=bool))
    phi_index = names.index("phi") if "phi" in names else -1
    lo = np.array([-np.inf if r[0] is None else r[0] for r in spec.ranges], dtype=np.float64)
    hi = np.array([np.inf if r[1] is None else r[1] for r in spec.ranges], dtype=np.float64)
    positive = np.array([spec.scale == "log" and dim == 0 for dim in range(len(names))])
    period = 360.0 / spec.phi_fold if spec.phi_fold > 1 else 0.0
    prepare_fn = prepare_fn or (lambda *a, **k: prepare(xp, *a, **k))
    assign_fn = assign_fn or (lambda *a, **k: assign(xp, *a, **k))
    values, valid, limits = prepare_fn(
        values, mask_d, np.float64(spec.phi_offset), np.float64(period), to_device(lo),
        to_device(hi), to_device(positive), phi_index=phi_index,
    )
    edges = spec_edges(spec, to_host(limits))
    scaled = [to_device(padded(scale_edges(e))) for e in edges]
    counts = [to_device(np.int64(n)) for n in spec.bins]
    natural = assign_fn(values, valid, scaled, counts)
    return Assignment(natural, edges)

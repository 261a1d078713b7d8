"""Metadata of result files as plain Python: the ``/entry`` (or ``/measurement``) tree,
the scalars of a config group (docs/file-format.md) and the summary ``xpcs info`` prints."""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from xpcs_core.io._h5util import attr_str, to_str
from xpcs_core.io.data import Meta
from xpcs_core.io.layout import MULTITAU, TWOTIME

__all__ = ["META_MAX_SIZE", "meta_leaf", "meta_tree", "plain_group", "summarize"]

#: metadata datasets larger than this are left out of the metadata tree
META_MAX_SIZE = 256
#: groups nested deeper than this are left out of the metadata tree
_MAX_DEPTH = 16


def meta_leaf(ds: h5py.Dataset) -> Meta | None:
    """A small number/string dataset as :class:`Meta` (value, unit); None when it is too
    large, not a number or string, or unreadable."""
    if ds.size > META_MAX_SIZE or ds.dtype.kind not in "biufSOU":
        return None
    try:
        raw = ds[()]
    except Exception:
        return None
    unit = attr_str(ds, "units") or attr_str(ds, "unit")
    if ds.dtype.kind in "SOU":
        try:
            value: Any = (
                to_str(raw) if np.ndim(raw) == 0 or np.size(raw) == 1 else [to_str(v) for v in np.ravel(raw)]
            )
        except (TypeError, ValueError):
            return None
    else:
        value = raw.item() if np.ndim(raw) == 0 or np.size(raw) == 1 else np.asarray(raw)
        if isinstance(value, np.ndarray) is False and hasattr(value, "item"):
            value = value.item()
    return Meta(value, unit)


def meta_tree(group: h5py.Group, depth: int = 0) -> dict[str, Any]:
    """Nested dict of ``group``: sub-groups as dicts, small datasets as :class:`Meta`
    (see :func:`meta_leaf`); unreadable members are skipped."""
    tree: dict[str, Any] = {}
    if depth > _MAX_DEPTH:
        return tree
    for name in group:
        try:
            obj = group.get(name)
        except Exception:
            continue
        if isinstance(obj, h5py.Group):
            tree[name] = meta_tree(obj, depth + 1)
        elif isinstance(obj, h5py.Dataset):
            leaf = meta_leaf(obj)
            if leaf is not None:
                tree[name] = leaf
    return tree


def plain_group(group: h5py.Group) -> dict[str, Any]:
    """Scalar datasets of a config group as plain Python values."""
    out: dict[str, Any] = {}
    for name in group:
        obj = group.get(name)
        if isinstance(obj, h5py.Dataset):
            leaf = meta_leaf(obj)
            if leaf is not None:
                out[name] = leaf.value
    return out


def summarize(res: Any) -> dict[str, Any]:
    """The facts ``xpcs info --json`` prints about an open ``XpcsResult`` ``res``."""
    h, w = res.detector_shape
    dq = res.dynamic_q
    finite_q = dq[np.isfinite(dq)]
    tau = res.tau if MULTITAU in res.analysis else res.twotime_tau[1:]
    return {
        "file": str(res.path),
        "layout": res.layout,
        "analysis": list(res.analysis),
        "detector_shape": [int(h), int(w)],
        "n_frames": res.n_frames,
        "frame_time_s": res.frame_time,
        "energy_kev": res.energy,
        "distance_m": res.detector_distance,
        "pixel_size_m": res.pixel_size,
        "beam_center_x": res.beam_center_x,
        "beam_center_y": res.beam_center_y,
        "n_dynamic_bins": int(np.count_nonzero(res.qmap.dynamic.counts)),
        "n_static_bins": int(np.count_nonzero(res.qmap.static.counts)),
        "q_range": [float(finite_q.min()), float(finite_q.max())] if finite_q.size else None,
        "tau_range_s": [float(tau.min()), float(tau.max())] if tau.size else None,
        "n_tau": int(tau.size),
        "twotime_bins": res.twotime_bins.tolist() if TWOTIME in res.analysis else [],
    }

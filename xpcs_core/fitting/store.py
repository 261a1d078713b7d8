"""Fit results in HDF5: the group ``/xpcs/fit/<model>`` of a result file.

Layout (arrays are per fitted bin, in ``bin_index`` order)::

    /xpcs/fit/<model>/                attrs: model, params, free, backend, provenance (JSON),
                                             t_range (s), format_version, created (UTC, ISO 8601)
        q, bin_index                  (n_bins,) 1/Å; 0-based g2 column
        <param>, <param>_err          (n_bins,) least-squares value and 1-sd error
        success, message, chi2, n_points, cov (n_bins, n_free, n_free)
        bounds                        (n_bins, n_params, 2) lower, upper bound of each parameter
        posterior/                    attrs: sampler, settings (JSON)
            <param>                   (chain, draw, bin) draws (LZF)
            <param>_mean, _sd, _hdi94_low, _hdi94_high, _r_hat, _ess_bulk, _ess_tail
            divergences, bfmi, converged, diverging (chain, draw, bin), energy
        tauq/                         attrs: a, a_err, alpha, alpha_err, D_A2_per_s(_err),
                                             D_um2_per_s(_err), method, param
            q, tau, tau_err, used

:mod:`xpcs_core.fitting.load` reads the group back into a ``FitResult``. The output is
written atomically: to a new file (a copy of the input plus the fit
group), or in place (a modified copy renamed onto the input) only when asked.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from xpcs_core.fitting.result import FitResult

FORMAT_VERSION = 1
_LZF_MIN = 8192


def _dataset(group: Any, name: str, data: Any) -> None:
    arr = np.asarray(data)
    kwargs: dict[str, Any] = {}
    if arr.size > _LZF_MIN:
        kwargs = {"compression": "lzf", "chunks": True}
    group.create_dataset(name, data=arr, **kwargs)


def write_fit_group(h5: Any, result: FitResult) -> Any:
    """Write ``result`` into an open h5py file (replacing an older group of the model)."""
    path = f"xpcs/fit/{result.model.name}"
    if path in h5:
        del h5[path]
    g = h5.require_group(path)
    g.attrs["model"] = result.model.name
    g.attrs["params"] = np.array([n.encode() for n in result.param_names])
    g.attrs["free"] = np.array([n.encode() for n in result.free])
    g.attrs["backend"] = str(result.provenance.get("backend"))
    g.attrs["provenance"] = json.dumps(clean_json(result.provenance))
    g.attrs["t_range"] = np.asarray(result.t_range, dtype=np.float64)
    g.attrs["format_version"] = FORMAT_VERSION
    g.attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _dataset(g, "q", result.q)
    _dataset(g, "bin_index", result.bin_index.astype(np.int64))
    for j, name in enumerate(result.param_names):
        _dataset(g, name, result.values[:, j])
        _dataset(g, f"{name}_err", result.errors[:, j])
    _dataset(g, "success", result.success.astype(bool))
    _dataset(g, "message", np.array([m.encode() for m in result.message]))
    _dataset(g, "chi2", result.chi2)
    _dataset(g, "n_points", result.n_points.astype(np.int64))
    _dataset(g, "cov", result.cov)
    if result.lower is not None and result.upper is not None:
        _dataset(g, "bounds", np.stack([result.lower, result.upper], axis=-1).astype(np.float64))
    if result.posterior is not None:
        p = g.create_group("posterior")
        p.attrs["sampler"] = result.posterior.sampler
        p.attrs["settings"] = json.dumps(clean_json(result.posterior.settings))
        for name, arr in result.posterior.draws.items():
            _dataset(p, name, arr)
        for name, s in (result.summary or {}).items():
            _dataset(p, f"{name}_mean", s["mean"])
            _dataset(p, f"{name}_sd", s["sd"])
            _dataset(p, f"{name}_hdi94_low", s["hdi_low"])
            _dataset(p, f"{name}_hdi94_high", s["hdi_high"])
        d = result.diagnostics or {}
        for key in ("r_hat", "ess_bulk", "ess_tail"):
            for name, arr in d.get(key, {}).items():
                _dataset(p, f"{name}_{key}", arr)
        for key in ("divergences", "bfmi", "converged"):
            if key in d:
                _dataset(p, key, d[key])
        for key in ("diverging", "energy"):
            if key in result.posterior.sample_stats:
                _dataset(p, key, result.posterior.sample_stats[key])
    if result.tauq is not None:
        tq = result.tauq
        t = g.create_group("tauq")
        info = tq.as_dict()
        for key in ("a", "a_err", "alpha", "alpha_err", "method", "param"):
            t.attrs[key] = info[key] if info[key] is not None else np.nan
        t.attrs["D_A2_per_s"] = tq.D_A2_per_s
        t.attrs["D_A2_per_s_err"] = tq.D_A2_per_s_err
        t.attrs["D_um2_per_s"] = tq.D_um2_per_s
        t.attrs["D_um2_per_s_err"] = tq.D_um2_per_s_err
        _dataset(t, "q", tq.q)
        _dataset(t, "tau", tq.tau)
        _dataset(t, "tau_err", tq.tau_err)
        _dataset(t, "used", tq.used.astype(bool))
    return g


def save_fit(result: FitResult, path: str | os.PathLike[str] | None, *,
             source: str | os.PathLike[str] | None = None, in_place: bool = False) -> None:
    """Write ``result`` atomically.

    ``in_place``: into ``source`` itself (a modified copy renamed onto it). Otherwise to
    ``path``: a copy of ``source`` (when given) plus the fit group, or a new file.
    """
    from xpcs_core.errors import XpcsInputError
    from xpcs_core.io.atomic import atomic_h5, locked

    if in_place:
        if source is None:
            raise XpcsInputError("in-place saving needs the source file")
        # locked: a concurrent in-place update waits, then copies the file as this one left it
        with locked(source), atomic_h5(source, copy_from=source, allow_same=True) as h5:
            write_fit_group(h5, result)
        return
    if path is None:
        raise XpcsInputError("no output file given")
    with atomic_h5(path, copy_from=source) as h5:
        write_fit_group(h5, result)


def read_fit_group(path: str | os.PathLike[str], model: str) -> dict[str, Any]:
    """The arrays and attributes of ``/xpcs/fit/<model>`` as a dict (for checks and tools)."""
    import h5py

    from xpcs_core.errors import XpcsFormatError

    with h5py.File(path, "r") as h5:
        key = f"xpcs/fit/{model}"
        if key not in h5:
            raise XpcsFormatError(path, f"no fit of model {model!r}", key=f"/{key}")
        out: dict[str, Any] = {"attrs": dict(h5[key].attrs)}

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
            elif isinstance(obj, h5py.Group):
                out[f"{name}/attrs"] = dict(obj.attrs)

        h5[key].visititems(visit)
    return out


def clean_json(obj: Any) -> Any:
    """Recursively make ``obj`` strict-JSON safe: arrays to lists, NaN/inf to None."""
    if isinstance(obj, dict):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean_json(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    return str(obj)

"""Fits stored in a result file, read back: :func:`stored_fits`, :func:`load_fit`,
:func:`stored_fit_info` (layout: :mod:`xpcs_core.fitting.store`, docs/file-format.md).

:func:`load_fit` rebuilds the :class:`~xpcs_core.fitting.result.FitResult` that was saved,
posterior draws included (read in full, once: the file may change afterwards). A group
that is incomplete or inconsistent raises :class:`~xpcs_core.errors.XpcsFormatError`
naming the file and the key. Groups written before the ``bounds`` dataset existed load
with ``lower``/``upper`` None (no "on its bound" notes).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsFormatError, XpcsInputError
from xpcs_core.fitting.models import get_model
from xpcs_core.fitting.problem import PosteriorDraws
from xpcs_core.fitting.result import FitResult
from xpcs_core.fitting.store import FORMAT_VERSION
from xpcs_core.fitting.tauq import PowerLawFit, TauQFit, power_law, power_law_bayes

FIT_ROOT = "/xpcs/fit"
_SUMMARY = {"mean": "mean", "sd": "sd", "hdi_low": "hdi94_low", "hdi_high": "hdi94_high"}
_STATS = ("diverging", "energy")
_DIAG_PER_NAME = ("r_hat", "ess_bulk", "ess_tail")


def _open(path: str | os.PathLike[str]) -> Any:
    from xpcs_core.io._h5util import open_h5_readonly

    return open_h5_readonly(path)


def _fit_root(h5: Any, path: Any) -> Any:
    import h5py

    try:
        root = h5.get(FIT_ROOT)
    except Exception as exc:  # a broken link or a damaged object header
        raise XpcsFormatError(path, f"cannot open: {exc}", FIT_ROOT) from None
    if root is not None and not isinstance(root, h5py.Group):
        raise XpcsFormatError(path, f"expected a group, found a {type(root).__name__}", FIT_ROOT)
    return root


def stored_fits(path: str | os.PathLike[str]) -> list[str]:
    """Models with a group under ``/xpcs/fit`` of ``path``, in the order the file lists them
    (by name unless the file tracks creation order); [] when none."""
    import h5py

    with _open(path) as h5:
        root = _fit_root(h5, path)
        if root is None:
            return []
        try:
            return [name for name in root if isinstance(root.get(name), h5py.Group)]
        except Exception as exc:
            raise XpcsFormatError(path, f"cannot list: {exc}", FIT_ROOT) from None


def _group(h5: Any, path: Any, model: str) -> Any:
    import h5py

    root = _fit_root(h5, path)
    key = f"{FIT_ROOT}/{model}"
    try:
        g = None if root is None else root.get(model)
    except Exception as exc:
        raise XpcsFormatError(path, f"cannot open: {exc}", key) from None
    if g is None:
        raise XpcsFormatError(path, f"no stored fit of model {model!r}", key)
    if not isinstance(g, h5py.Group):
        raise XpcsFormatError(path, f"expected a group, found a {type(g).__name__}", key)
    return g


class _Reader:
    """Typed reads from one group, every failure an XpcsFormatError naming the key."""

    def __init__(self, path: Any, group: Any) -> None:
        self.path, self.g = path, group

    def key(self, name: str) -> str:
        return f"{self.g.name}/{name}"

    def fail(self, name: str | None, message: str) -> XpcsFormatError:
        return XpcsFormatError(self.path, message, self.g.name if name is None else self.key(name))

    def attr(self, name: str, default: Any = ...) -> Any:
        try:
            if name not in self.g.attrs:
                if default is ...:
                    raise self.fail(None, f"attribute {name!r} is missing")
                return default
            return self.g.attrs[name]
        except XpcsFormatError:
            raise
        except Exception as exc:
            raise self.fail(None, f"cannot read attribute {name!r}: {exc}") from None

    def text(self, name: str, default: Any = ...) -> Any:
        from xpcs_core.io._h5util import to_str

        value = self.attr(name, default)
        try:
            return value if value is None or value is default else to_str(value)
        except (TypeError, ValueError) as exc:
            raise self.fail(None, f"attribute {name!r}: {exc}") from None

    def names(self, name: str) -> tuple[str, ...]:
        from xpcs_core.io._h5util import to_str

        value = np.atleast_1d(self.attr(name))
        try:
            return tuple(to_str(v) for v in value)
        except (TypeError, ValueError) as exc:
            raise self.fail(None, f"attribute {name!r}: {exc}") from None

    def json(self, name: str, default: Any = ...) -> Any:
        value = self.text(name, default)
        if value is default:
            return value
        try:
            return json.loads(value)
        except ValueError as exc:
            raise self.fail(None, f"attribute {name!r} is not JSON: {exc}") from None

    def number(self, name: str) -> float:
        try:
            return float(np.asarray(self.attr(name)).reshape(-1)[0])
        except (TypeError, ValueError, IndexError) as exc:
            raise self.fail(None, f"attribute {name!r} is not a number: {exc}") from None

    def has(self, name: str) -> bool:
        try:
            return name in self.g
        except Exception as exc:
            raise self.fail(name, f"cannot open: {exc}") from None

    def array(self, name: str, shape: tuple[int | None, ...], kind: str = "float") -> np.ndarray:
        from xpcs_core.io._h5util import read_array

        arr = read_array(self.g, name, self.path, kind=kind, ndim=len(shape), allow_empty=True)
        if any(want is not None and got != want for got, want in zip(arr.shape, shape, strict=True)):
            want = "(" + ", ".join("?" if w is None else str(w) for w in shape) + ")"
            raise self.fail(name, f"shape {arr.shape} does not match {want}")
        return arr

    def strings(self, name: str, n: int) -> list[str]:
        from xpcs_core.io._h5util import read_strings

        out = read_strings(self.g, name, self.path)
        if out is None:
            raise self.fail(name, "required dataset is missing")
        if len(out) != n:
            raise self.fail(name, f"{len(out)} entries for {n} bins")
        return out

    def sub(self, name: str) -> _Reader | None:
        import h5py

        if not self.has(name):
            return None
        try:
            obj = self.g[name]
        except Exception as exc:
            raise self.fail(name, f"cannot open: {exc}") from None
        if not isinstance(obj, h5py.Group):
            raise self.fail(name, f"expected a group, found a {type(obj).__name__}")
        return _Reader(self.path, obj)


def load_fit(path: str | os.PathLike[str], model: str) -> FitResult:
    """The :class:`FitResult` stored under ``/xpcs/fit/<model>`` of ``path``.

    Values, errors, cov, chi2, success, message, q, bin_index, t_range, provenance, bounds,
    the posterior (draws in full, summaries, diagnostics) and tau(q)/D when stored.
    """
    with _open(path) as h5:
        r = _Reader(path, _group(h5, path, model))
        version = r.attr("format_version", None)
        if version is not None and int(np.asarray(version).reshape(-1)[0]) > FORMAT_VERSION:
            raise r.fail(None, f"format_version {int(version)} is newer than this reader ({FORMAT_VERSION})")
        return _read(r, model)


def _read(r: _Reader, model_name: str) -> FitResult:
    name = r.text("model")
    if name != model_name:
        raise r.fail(None, f"attribute 'model' is {name!r}, not the group's name {model_name!r}")
    try:
        model = get_model(name)
    except XpcsInputError as exc:
        raise r.fail(None, f"model {name!r} is not registered here ({exc})") from None
    params, free = r.names("params"), r.names("free")
    if params != tuple(model.params):
        raise r.fail(None, f"stored parameters {list(params)} are not those of model {name!r} {list(model.params)}")
    if not set(free) <= set(params):
        raise r.fail(None, f"free parameters {list(free)} are not among {list(params)}")
    t_range = np.asarray(r.attr("t_range"), dtype=np.float64).reshape(-1)
    if t_range.size != 2:
        raise r.fail(None, f"attribute 't_range' has {t_range.size} values, not 2")
    q = r.array("q", (None,))
    n = q.size
    bin_index = r.array("bin_index", (n,), kind="int").astype(np.int64)
    values = np.stack([r.array(p, (n,)) for p in params], axis=1).astype(np.float64)
    errors = np.stack([r.array(f"{p}_err", (n,)) for p in params], axis=1).astype(np.float64)
    lower = upper = None
    if r.has("bounds"):
        bounds = r.array("bounds", (n, len(params), 2)).astype(np.float64)
        lower, upper = bounds[..., 0].copy(), bounds[..., 1].copy()
    provenance = r.json("provenance", None)
    if provenance is None:
        backend = r.text("backend", None)
        provenance = {} if backend is None else {"backend": backend}
    if not isinstance(provenance, dict):
        raise r.fail(None, "attribute 'provenance' is not a JSON object")
    result = FitResult(
        model=model, q=q.astype(np.float64), bin_index=bin_index, free=free, values=values, errors=errors,
        success=r.array("success", (n,), kind="number").astype(bool), message=r.strings("message", n),
        chi2=r.array("chi2", (n,)).astype(np.float64),
        n_points=r.array("n_points", (n,), kind="int").astype(np.int64),
        cov=r.array("cov", (n, len(free), len(free))).astype(np.float64),
        t_range=(float(t_range[0]), float(t_range[1])), provenance=provenance, lower=lower, upper=upper,
    )
    post = r.sub("posterior")
    if post is not None:
        _read_posterior(post, result)
    tq = r.sub("tauq")
    if tq is not None:
        result.tauq = _read_tauq(tq, result)
    return result


def _read_posterior(p: _Reader, result: FitResult) -> None:
    import h5py

    n = result.n_bins
    try:
        cubes = [k for k in p.g if isinstance(p.g[k], h5py.Dataset) and p.g[k].ndim == 3]
    except Exception as exc:
        raise p.fail(None, f"cannot list: {exc}") from None
    params = [k for k in result.param_names if k in cubes]
    names = params + [k for k in cubes if k not in params and k not in _STATS]
    draws = {k: p.array(k, (None, None, n)).astype(np.float64) for k in names}
    stats = {k: p.array(k, (None, None, n), kind="number") for k in _STATS if k in cubes}
    settings = p.json("settings", {})
    result.posterior = PosteriorDraws(draws=draws, sample_stats=stats, sampler=p.text("sampler"),
                                      settings=settings if isinstance(settings, dict) else {})
    if any(p.has(f"{k}_mean") for k in names):
        result.summary = {k: {s: p.array(f"{k}_{suffix}", (n,)).astype(np.float64)
                              for s, suffix in _SUMMARY.items()} for k in names}
    if any(p.has(k) for k in ("divergences", "bfmi", "converged")):
        diag: dict[str, Any] = {key: {k: p.array(f"{k}_{key}", (n,)).astype(np.float64) for k in names}
                                for key in _DIAG_PER_NAME}
        diag["divergences"] = p.array("divergences", (n,), kind="number").astype(np.int64)
        diag["bfmi"] = p.array("bfmi", (n,)).astype(np.float64)
        diag["converged"] = p.array("converged", (n,), kind="number").astype(bool)
        if result.summary is not None:  # as fit_g2 computes it (not stored)
            within = np.ones(n, dtype=bool)
            with np.errstate(invalid="ignore"):
                for k in result.free:
                    s = result.summary.get(k)
                    if s is not None:
                        within &= np.abs(result.value(k) - s["mean"]) <= 2.0 * s["sd"]
            diag["lsq_within_2sd"] = within
        result.diagnostics = diag


def _read_tauq(t: _Reader, result: FitResult) -> TauQFit:
    q = t.array("q", (None,)).astype(np.float64)
    m = q.size
    tau, tau_err = t.array("tau", (m,)).astype(np.float64), t.array("tau_err", (m,)).astype(np.float64)
    used = t.array("used", (m,), kind="number").astype(bool)
    param, method = t.text("param"), t.text("method")
    a, a_err = t.number("a"), t.number("a_err")
    alpha, alpha_err = t.number("alpha"), t.number("alpha_err")
    d, d_err = t.number("D_A2_per_s"), t.number("D_A2_per_s_err")
    if not (math.isfinite(a) and a > 0 and math.isfinite(d) and d > 0):
        raise t.fail(None, f"a = {a:g} and D = {d:g} must be positive")
    fits = _refit(result, param, method, q, tau, tau_err, used)
    ok = fits is not None and math.isclose(fits[0].a, a, rel_tol=1e-6) and (
        math.isclose(fits[1].alpha, alpha, rel_tol=1e-6, abs_tol=1e-12) if fits[1] is not None
        else (alpha == 2.0 and alpha_err == 0.0))
    brownian, free = fits if ok else _from_attrs(q, tau, tau_err, used, method, a, a_err, alpha, alpha_err, d, d_err)
    return TauQFit(param=param, q=q, tau=tau, tau_err=tau_err, used=used, free=free, brownian=brownian,
                   D_A2_per_s=d, D_A2_per_s_err=d_err)


def _refit(result: FitResult, param: str, method: str, q: np.ndarray, tau: np.ndarray, tau_err: np.ndarray,
           used: np.ndarray) -> tuple[PowerLawFit, PowerLawFit | None] | None:
    """The power laws recomputed from the stored points, as :func:`fit_tauq` made them
    (deterministic: the same numbers); None where that is not possible."""
    n = int(used.sum())
    try:
        with np.errstate(all="ignore"):
            if method == "bayes":
                post = result.posterior
                if post is None or param not in post.draws or post.draws[param].shape[-1] != q.size:
                    return None
                d = post.draws[param].reshape(-1, q.size)[:, used]
                brownian = power_law_bayes(q[used], d, alpha=2.0)
                free = _try(power_law_bayes, q[used], d) if n >= 3 else None
            else:
                args = (q[used], tau[used], tau_err[used])
                brownian = power_law(*args, alpha=2.0)
                free = _try(power_law, *args) if n >= 3 else None
    except (XpcsInputError, ValueError, FloatingPointError, np.linalg.LinAlgError):
        return None
    return brownian, free


def _try(fn: Any, *args: Any) -> PowerLawFit | None:
    try:
        return fn(*args)
    except XpcsInputError:
        return None


def _from_attrs(q: np.ndarray, tau: np.ndarray, tau_err: np.ndarray, used: np.ndarray, method: str, a: float,
                a_err: float, alpha: float, alpha_err: float, d: float,
                d_err: float) -> tuple[PowerLawFit, PowerLawFit | None]:
    """Power laws from the stored numbers alone; the free fit's prefactor (not stored) is the
    weighted least-squares one for the stored alpha (exact for a least-squares tau(q))."""
    n = int(used.sum())
    brownian = PowerLawFit(a=a, a_err=a_err, alpha=2.0, alpha_err=0.0, alpha_fixed=True, chi2=math.nan,
                           n_bins=n, method=method, log_a=math.log(a), log_a_err=d_err / d)
    if alpha == 2.0 and alpha_err == 0.0:
        return brownian, None
    with np.errstate(all="ignore"):
        x, y, w = np.log(q[used]), np.log(tau[used]), (tau[used] / tau_err[used]) ** 2
        log_a = float(np.sum(w * (y + alpha * x)) / np.sum(w)) if n else math.nan
    free = PowerLawFit(a=math.exp(log_a) if math.isfinite(log_a) else math.nan, a_err=math.nan, alpha=alpha,
                       alpha_err=alpha_err, alpha_fixed=False, chi2=math.nan, n_bins=n, method=method,
                       log_a=log_a)
    return brownian, free


def stored_fit_info(path: str | os.PathLike[str], model: str) -> dict[str, Any]:
    """What labels a stored fit: ``model``, ``backend``, ``sampler`` (None without a
    posterior), ``created`` (ISO 8601 UTC, None when not recorded), ``tauq`` (bool)."""
    with _open(path) as h5:
        r = _Reader(path, _group(h5, path, model))
        post = r.sub("posterior")
        return {"model": model, "backend": r.text("backend", None), "created": r.text("created", None),
                "sampler": None if post is None else post.text("sampler", None), "tauq": r.has("tauq")}

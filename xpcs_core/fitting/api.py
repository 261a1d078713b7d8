"""``fit_g2``: fit a g2 model to every q-bin at once (least squares, optionally Bayesian)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsInputError
from xpcs_core.fitting.models import G2Model
from xpcs_core.fitting.problem import LsqSolution, SamplerSettings, build_problem
from xpcs_core.fitting.result import FitResult

log = logging.getLogger(__name__)


def _from_source(source: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, str | None]:
    """(t, g2, g2_err, q, path) of a result object or file path."""
    if isinstance(source, str | bytes) or hasattr(source, "__fspath__"):
        from xpcs_core.io.result import open_result

        with open_result(source) as res:
            return _from_source_object(res, str(source))
    return _from_source_object(source, str(getattr(source, "path", "")) or None)


def _from_source_object(res: Any, path: str | None) -> tuple[Any, ...]:
    analysis = getattr(res, "analysis", None)
    if analysis is not None and "multitau" not in analysis:
        raise XpcsInputError(f"{path or 'result'}: no multi-tau g2 to fit (the file holds {', '.join(analysis) or 'no analysis'})")
    t = np.asarray(res.tau, dtype=np.float64)
    g2 = np.asarray(res.g2, dtype=np.float64)
    try:
        err = res.g2_err
    except (AttributeError, KeyError):  # a reader without errors for this file
        err = None
    err = None if err is None else np.asarray(err, dtype=np.float64)
    q = getattr(res, "dynamic_q", None)
    return t, g2, err, None if q is None else np.asarray(q, dtype=np.float64), path


def fit_g2(
    source: Any = None,
    *,
    t: Any = None,
    g2: Any = None,
    g2_err: Any = None,
    q: Any = None,
    model: str | G2Model = "single",
    fix: Mapping[str, Any] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    p0: Mapping[str, Any] | None = None,
    q_range: tuple[float, float] | None = None,
    t_range: tuple[float, float] | None = None,
    bayes: bool = False,
    chains: int | None = None,
    warmup: int | None = None,
    draws: int | None = None,
    seed: int = 0,
    settings: SamplerSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    backend: str | None = None,
    tauq: bool = True,
    temperature: float | None = None,
    viscosity: float | None = None,
) -> FitResult:
    """Fit g2(t) of every q-bin with one call of the backend.

    Data: ``source`` (a result-file path or an object with ``tau``, ``g2``, ``g2_err``,
    ``dynamic_q``, such as :func:`xpcs_core.open_result` returns) or the arrays ``t``
    (n_tau,) s, ``g2``/``g2_err`` (n_tau, n_bins) and ``q`` (n_bins,) 1/Å.
    ``model``: ``"single"``, ``"stretched"``, ``"double"`` or a registered/own
    :class:`G2Model`; ``fix`` {name: value}, ``bounds`` {name: (lo, hi)}, ``p0``
    {name: start}; ``q_range``/``t_range`` select bins and delays.

    ``bayes=True`` also samples the posterior of every bin (NUTS on jax, emcee on numpy),
    starting at the least-squares point, with ``chains``/``warmup``/``draws``/``seed``
    (or ``settings``), ``progress(done, total)`` and a ``cancel`` event.

    With ``tauq`` (default) and at least two usable bins, tau(q) is fitted too (D from
    alpha = 2; R when ``temperature`` (K) and ``viscosity`` (Pa·s) are given).
    """
    from xpcs_core import backends

    path = None
    if source is not None:
        t, g2, err_src, q_src, path = _from_source(source)
        g2_err = err_src if g2_err is None else g2_err
        q = q_src if q is None else q
    if t is None or g2 is None:
        raise XpcsInputError("fit_g2 needs a result (file) or t and g2 arrays")
    problem_all, fit_bins, skipped = build_problem(
        t, g2, g2_err, model=model, q=q, fix=fix, bounds=bounds, p0=p0,
        q_range=q_range, t_range=t_range,
    )
    n_bins = problem_all.n_bins
    n_p = len(problem_all.model.params)
    n_free = len(problem_all.free)
    values = problem_all.p0.copy()
    values[:, [problem_all.model.index(n) for n in problem_all.free]] = np.nan
    errors = np.full((n_bins, n_p), np.nan)
    cov = np.full((n_bins, n_free, n_free), np.nan)
    chi2 = np.full(n_bins, np.nan)
    success = np.zeros(n_bins, dtype=bool)
    message = list(skipped)
    provenance: dict[str, Any] = {}
    lsq: LsqSolution | None = None
    problem = problem_all.subset(fit_bins)
    if fit_bins.size:
        lsq, prov = backends.call("xpcs_fit_lsq", backend=backend, problem=problem,
                                  workload=problem.n_bins * problem.t.size)
        provenance = {**prov.as_dict(), "lsq": prov.as_dict()}
        values[fit_bins] = lsq.params
        errors[fit_bins] = lsq.errors
        cov[fit_bins] = lsq.cov
        chi2[fit_bins] = lsq.chi2
        success[fit_bins] = lsq.success
        for k, b in enumerate(fit_bins):
            message[b] = lsq.message[k]
    result = FitResult(
        model=problem_all.model,
        q=problem_all.q if problem_all.q is not None else np.full(n_bins, np.nan),
        bin_index=problem_all.bin_index,
        free=problem_all.free,
        values=values, errors=errors, success=success, message=message, chi2=chi2,
        n_points=problem_all.n_points, cov=cov,
        t_range=(float(problem_all.t.min()), float(problem_all.t.max())),
        provenance=provenance, lower=problem_all.lower, upper=problem_all.upper,
    )
    if path:
        result.provenance["source"] = path
    if bayes and fit_bins.size:
        _sample(result, problem, fit_bins, lsq, backend, settings, chains, warmup, draws, seed, progress, cancel)
    if tauq:
        try:
            from xpcs_core.fitting.tauq import fit_tauq

            result.tauq = fit_tauq(result, temperature=temperature, viscosity=viscosity)
        except XpcsInputError as exc:
            log.info("no tau(q) fit: %s", exc)
            result.tauq_note = str(exc)
    return result


def _sample(result: FitResult, problem: Any, fit_bins: np.ndarray, lsq: LsqSolution, backend: str | None,
            settings: SamplerSettings | None, chains: int | None, warmup: int | None, draws: int | None,
            seed: int, progress: Any, cancel: Any) -> None:
    """Posterior of the fitted bins; bins that were not fitted get NaN draws."""
    from xpcs_core import backends
    from xpcs_core.fitting.diagnostics import diagnose, summarize
    from xpcs_core.fitting.problem import PosteriorDraws

    if settings is None:
        settings = SamplerSettings(chains=chains, warmup=warmup, draws=draws, seed=seed)
    if progress is not None:
        settings.progress = progress
    if cancel is not None:
        settings.cancel = cancel
    post, prov = backends.call("xpcs_sample_posterior", backend=backend, problem=problem,
                               start=lsq, settings=settings, workload=problem.n_bins * problem.t.size)
    n_bins = result.n_bins

    def widen(a: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full(a.shape[:2] + (n_bins,) + a.shape[3:], fill, dtype=a.dtype)
        out[:, :, fit_bins] = a
        return out

    post_full = PosteriorDraws(
        draws={k: widen(v, np.nan) for k, v in post.draws.items()},
        sample_stats={k: widen(v, np.nan if v.dtype.kind == "f" else 0) for k, v in post.sample_stats.items()},
        sampler=post.sampler, settings=post.settings,
    )
    diag = diagnose(post.draws, post.sample_stats)
    summ = summarize(post.draws)
    # the least-squares point within 2 posterior sd of the posterior mean (docs/physics.md check)
    within = np.ones(fit_bins.size, dtype=bool)
    for name in problem.free:
        j = problem.model.index(name)
        s = summ[name]
        within &= np.abs(lsq.params[:, j] - s["mean"]) <= 2.0 * s["sd"]
    diag["lsq_within_2sd"] = within

    def widen1(a: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full((n_bins,) + a.shape[1:], fill, dtype=a.dtype if a.dtype != bool else bool)
        out[fit_bins] = a
        return out

    result.posterior = post_full
    result.summary = {n: {k: widen1(v, np.nan) for k, v in s.items()} for n, s in summ.items()}
    result.diagnostics = {
        "r_hat": {n: widen1(v, np.nan) for n, v in diag["r_hat"].items()},
        "ess_bulk": {n: widen1(v, np.nan) for n, v in diag["ess_bulk"].items()},
        "ess_tail": {n: widen1(v, np.nan) for n, v in diag["ess_tail"].items()},
        "divergences": widen1(diag["divergences"], 0),
        "bfmi": widen1(diag["bfmi"], np.nan),
        "converged": widen1(diag["converged"], False),
        "lsq_within_2sd": widen1(diag["lsq_within_2sd"], False),
    }
    result.provenance["posterior"] = {**prov.as_dict(), "sampler": post.sampler, "settings": post.settings}
    result.provenance["seed"] = settings.seed

"""What the fitting hooks exchange: :class:`FitProblem`, :class:`LsqSolution`,
:class:`SamplerSettings`, :class:`PosteriorDraws`, and :func:`build_problem`, which
turns g2 arrays (with NaNs, bad errors, ranges, fixed values and bounds) into a
clean problem every backend can solve without special cases.
"""

from __future__ import annotations

import logging
import math
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsInputError
from xpcs_core.fitting.models import G2Model, get_model

log = logging.getLogger(__name__)

BOUND_MARGIN = 1e-3
"""Starting values are moved at least this fraction of the bound range inside the bounds."""


class FitWarning(UserWarning):
    """Data were repaired or left out before fitting (bad errors, NaN points, short bins)."""


@dataclass(frozen=True)
class FitProblem:
    """One g2 model fitted to many q-bins at once (all arrays NumPy, float64, NaN-free).

    Shapes: ``t`` (n_t,); ``y``, ``sigma``, ``mask`` (n_bins, n_t), ``mask`` True where
    a point is used (``y``/``sigma`` hold harmless finite values elsewhere);
    ``p0``, ``lower``, ``upper`` (n_bins, n_params) in the order of ``model.params``
    (fixed parameters hold their value in ``p0``); ``free`` the names of the free
    parameters (the same for every bin); ``q`` (n_bins,) 1/Å and ``bin_index`` (n_bins,)
    the bins' 0-based indices in the input, when known. ``sigma_known`` is False when the data had
    no errors: then ``sigma`` is 1, the covariance is scaled by the reduced chi2 and
    the Bayesian likelihood gets a noise scale.
    """

    model: G2Model
    t: np.ndarray
    y: np.ndarray
    sigma: np.ndarray
    mask: np.ndarray
    p0: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    free: tuple[str, ...]
    q: np.ndarray | None = None
    sigma_known: bool = True
    bin_index: np.ndarray | None = None

    @property
    def n_bins(self) -> int:
        return int(self.y.shape[0])

    @property
    def free_index(self) -> np.ndarray:
        return np.array([self.model.index(n) for n in self.free], dtype=np.int64)

    @property
    def fixed(self) -> tuple[str, ...]:
        return tuple(p for p in self.model.params if p not in self.free)

    @property
    def n_points(self) -> np.ndarray:
        return self.mask.sum(axis=1)

    def subset(self, bins: np.ndarray) -> FitProblem:
        """The same problem restricted to some bins (index or boolean array)."""
        return FitProblem(
            model=self.model, t=self.t, y=self.y[bins], sigma=self.sigma[bins],
            mask=self.mask[bins], p0=self.p0[bins], lower=self.lower[bins],
            upper=self.upper[bins], free=self.free,
            q=None if self.q is None else self.q[bins], sigma_known=self.sigma_known,
            bin_index=None if self.bin_index is None else self.bin_index[bins],
        )


@dataclass
class LsqSolution:
    """Least-squares answer per bin (NumPy arrays).

    ``params``/``errors`` (n_bins, n_params) in model order (errors NaN for fixed
    parameters); ``cov`` (n_bins, n_free, n_free) as ``curve_fit(absolute_sigma=True)``
    (scaled by the reduced chi2 when the problem has no errors); ``chi2`` (n_bins,);
    ``success`` (n_bins,) bool; ``message`` one string per bin; ``n_iter`` (n_bins,).
    """

    params: np.ndarray
    errors: np.ndarray
    cov: np.ndarray
    chi2: np.ndarray
    success: np.ndarray
    message: list[str]
    n_iter: np.ndarray


@dataclass
class SamplerSettings:
    """Settings of a posterior run. ``None`` means the sampler's own default.

    NUTS (jax): 4 chains, 500 warm-up, 1000 draws, target acceptance 0.8, tree depth 10,
    dense mass matrix per bin. emcee (numpy): ``chains`` is the number of walkers
    (default 32, at least 2*n_free+2), 1000 warm-up (burn-in) and 3000 draws per walker
    (differential-evolution moves).
    ``progress(done, total)`` is called from time to time; setting ``cancel`` makes the
    run stop with :class:`xpcs_core.errors.XpcsCancelled`. ``workers`` > 1 runs emcee's
    bins in that many processes (spawned when jax is loaded: scripts then need an
    ``if __name__ == "__main__":`` guard); the draws do not depend on it.
    """

    chains: int | None = None
    warmup: int | None = None
    draws: int | None = None
    seed: int = 0
    target_accept: float = 0.8
    max_tree_depth: int = 10
    progress: Callable[[int, int], None] | None = field(default=None, repr=False, compare=False)
    cancel: threading.Event | None = field(default=None, repr=False, compare=False)
    workers: int = 1

    def resolved(self, defaults: Mapping[str, int]) -> dict[str, Any]:
        """Chains, warm-up and draws with ``None`` replaced by ``defaults``."""
        out = {k: getattr(self, k) if getattr(self, k) is not None else defaults[k]
               for k in ("chains", "warmup", "draws")}
        for k, v in out.items():
            if int(v) != v or v < (1 if k != "warmup" else 0):
                raise XpcsInputError(f"sampler setting {k} must be a positive integer, got {v!r}")
        return {**{k: int(v) for k, v in out.items()}, "seed": int(self.seed),
                "target_accept": self.target_accept, "max_tree_depth": self.max_tree_depth}

    def as_dict(self) -> dict[str, Any]:
        return {"chains": self.chains, "warmup": self.warmup, "draws": self.draws,
                "seed": self.seed, "target_accept": self.target_accept,
                "max_tree_depth": self.max_tree_depth, "workers": self.workers}


@dataclass
class PosteriorDraws:
    """Posterior samples of all bins.

    ``draws``: name -> (chain, draw, bin) array for every free parameter (and ``noise``
    when the problem has no errors). ``sample_stats``: name -> (chain, draw, bin) arrays
    the sampler provides (``diverging``, ``energy``, ``n_steps``, ``accept_prob``,
    ``lp``). ``sampler`` is ``"nuts"`` or ``"emcee"``; ``settings`` the values used.
    """

    draws: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    sampler: str
    settings: dict[str, Any]


# ------------------------------------------------------------------- problem set-up
def _as_2d(name: str, a: Any, n_t: int) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n_t:
        raise XpcsInputError(f"{name} must have shape (n_tau, n_bins) with n_tau={n_t}, got {arr.shape}")
    return arr


def build_problem(
    t: Any,
    g2: Any,
    g2_err: Any | None = None,
    *,
    model: str | G2Model = "single",
    q: Any | None = None,
    fix: Mapping[str, Any] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    p0: Mapping[str, Any] | None = None,
    q_range: tuple[float, float] | None = None,
    t_range: tuple[float, float] | None = None,
) -> tuple[FitProblem, np.ndarray, list[str]]:
    """Clean data and set up a :class:`FitProblem`.

    ``t`` (n_tau,) seconds; ``g2``, ``g2_err`` (n_tau, n_bins) as in result files.
    ``fix`` {name: value or per-bin array}; ``bounds`` {name: (lo, hi)} overriding the
    docs/physics.md defaults; ``p0`` {name: value} overriding the data-driven start.
    ``q_range``/``t_range`` select bins / delays (inclusive).

    Rules for bad data (each reported with a :class:`FitWarning`):

    * a point whose g2 or delay is NaN/inf is dropped (from that bin only);
    * a zero, negative or non-finite error of a usable point is replaced by the median
      of the positive finite errors of its bin (or of all bins, if the bin has none);
    * without any usable error at all (or ``g2_err=None``) the fit is unweighted and
      the covariance is scaled by the reduced chi2, as ``curve_fit(absolute_sigma=False)``;
    * a bin with fewer than n_free + 1 usable points is not fitted.

    Returns ``(problem, bins, skipped)``: ``bins`` the indices (into the selected bins)
    that are fitted, ``skipped`` one message per selected bin ("" when fitted).
    Only the bins in ``q_range`` are part of the returned problem's index space.
    """
    mdl = get_model(model)
    t = np.asarray(t, dtype=np.float64).ravel()
    n_t = t.size
    if n_t == 0:
        raise XpcsInputError("no delays to fit (empty tau)")
    y = _as_2d("g2", g2, n_t)
    n_all = y.shape[1]
    err = None if g2_err is None else _as_2d("g2_err", g2_err, n_t)
    if err is not None and err.shape != y.shape:
        raise XpcsInputError(f"g2_err shape {err.shape} does not match g2 shape {y.shape}")
    qv = None if q is None else np.asarray(q, dtype=np.float64).ravel()
    if qv is not None and qv.size != n_all:
        raise XpcsInputError(f"q has {qv.size} values but g2 has {n_all} bins")

    # ranges
    bin_sel = np.arange(n_all)
    if q_range is not None:
        if qv is None:
            raise XpcsInputError("q_range given but no q values")
        lo, hi = sorted(float(v) for v in q_range)
        bin_sel = bin_sel[(qv >= lo) & (qv <= hi)]
        if bin_sel.size == 0:
            raise XpcsInputError(f"no q-bin within q range [{lo:g}, {hi:g}] 1/A")
    t_sel = np.isfinite(t) & (t > 0)
    if t_range is not None:
        lo, hi = sorted(float(v) for v in t_range)
        t_sel &= (t >= lo) & (t <= hi)
    if not t_sel.any():
        raise XpcsInputError("no delay within the t range" if t_range else "no finite positive delay")
    t = t[t_sel]
    y = y[t_sel][:, bin_sel].T.copy()  # (n_bins, n_t)
    err = None if err is None else err[t_sel][:, bin_sel].T.copy()
    qv = None if qv is None else qv[bin_sel]
    n_bins = y.shape[0]

    mask = np.isfinite(y)
    n_dropped = int((~mask).sum())
    if n_dropped:
        warnings.warn(f"{n_dropped} g2 point(s) are NaN/inf and were dropped", FitWarning, stacklevel=2)

    sigma_known = err is not None
    if not sigma_known:
        warnings.warn("no g2 errors: fitting unweighted, errors scaled by reduced chi2",
                      FitWarning, stacklevel=2)
    else:
        good = mask & np.isfinite(err) & (err > 0)
        if not good.any():
            warnings.warn("no positive finite g2 error: fitting unweighted, errors scaled by reduced chi2",
                          FitWarning, stacklevel=2)
            sigma_known = False
        else:
            bad = mask & ~good
            if bad.any():
                global_med = float(np.median(err[good]))
                med = np.array([np.median(err[i][good[i]]) if good[i].any() else global_med
                                for i in range(n_bins)])
                err = np.where(bad, med[:, None], err)
                warnings.warn(
                    f"{int(bad.sum())} zero, negative or non-finite g2 error(s) replaced by the "
                    "median positive error of their bin", FitWarning, stacklevel=2)
    sigma = np.where(mask, err, 1.0) if sigma_known else np.ones_like(y)
    y = np.where(mask, y, 1.0)

    # parameters: bounds, fixed values, starting values
    names = mdl.params
    n_p = len(names)
    dflt = mdl.bounds(float(t.min()), float(t.max()))
    lower = np.empty((n_bins, n_p))
    upper = np.empty((n_bins, n_p))
    for j, name in enumerate(names):
        lo, hi = (bounds or {}).get(name, dflt.get(name, (-math.inf, math.inf)))
        lo, hi = float(lo), float(hi)
        if not lo < hi:
            raise XpcsInputError(f"bounds of {name}: lower {lo:g} must be below upper {hi:g}")
        if name in mdl.log_scale and lo < 0:
            raise XpcsInputError(f"bounds of {name}: lower bound must be >= 0, got {lo:g}")
        lower[:, j], upper[:, j] = lo, hi
    for name in (bounds or {}):
        mdl.index(name)

    fixed = dict(fix or {})
    for name in fixed:
        mdl.index(name)
    free = tuple(p for p in names if p not in fixed)
    if not free:
        raise XpcsInputError("every parameter is fixed: nothing to fit")

    guess = mdl.guess(t, y, mask)
    start = np.empty((n_bins, n_p))
    for j, name in enumerate(names):
        if name in fixed:
            val = np.broadcast_to(np.asarray(fixed[name], dtype=np.float64), (n_bins,))
            if not np.all(np.isfinite(val)):
                raise XpcsInputError(f"fixed value of {name} must be finite")
            s_lo, s_hi = mdl.priors[name].support
            if np.any(val < s_lo) or np.any(val > s_hi) or (name in mdl.log_scale and np.any(val <= 0)):
                low = "(0" if name in mdl.log_scale else f"[{s_lo:g}"
                raise XpcsInputError(
                    f"fixed value of {name} must lie in its physical domain {low}, {s_hi:g}]")
            if np.any(val < lower[:, j]) or np.any(val > upper[:, j]):
                raise XpcsInputError(
                    f"fixed value of {name} must lie within its bounds "
                    f"[{lower[0, j]:.4g}, {upper[0, j]:.4g}] (widen them with --bounds)")
            start[:, j] = val
            continue
        val = (p0 or {}).get(name, guess.get(name, 0.5 * (lower[:, j] + upper[:, j])))
        val = np.broadcast_to(np.asarray(val, dtype=np.float64), (n_bins,)).copy()
        lo, hi = lower[:, j], upper[:, j]
        if name in mdl.log_scale:
            llo = np.log(np.maximum(lo, 1e-300))
            lhi = np.log(hi)
            span = np.where(np.isfinite(llo) & np.isfinite(lhi), lhi - llo, 0.0)
            lv = np.log(np.clip(val, np.maximum(lo, 1e-300), hi))
            lv = np.clip(lv, llo + BOUND_MARGIN * span, lhi - BOUND_MARGIN * span)
            start[:, j] = np.exp(lv)
        else:
            span = np.where(np.isfinite(lo) & np.isfinite(hi), hi - lo, 0.0)
            start[:, j] = np.clip(np.nan_to_num(val), lo + BOUND_MARGIN * span, hi - BOUND_MARGIN * span)
    for a, b in mdl.ordered:
        ia, ib = mdl.index(a), mdl.index(b)
        if a in free and b in free:
            lo_ab = np.minimum(start[:, ia], start[:, ib])
            hi_ab = np.maximum(start[:, ia], start[:, ib])
            start[:, ia], start[:, ib] = lo_ab, hi_ab

    n_free = len(free)
    npts = mask.sum(axis=1)
    fit_ok = npts >= n_free + 1
    skipped = ["" if ok else f"too few points ({int(n)} < {n_free + 1})" for ok, n in zip(fit_ok, npts)]
    if not fit_ok.all():
        warnings.warn(f"{int((~fit_ok).sum())} bin(s) have too few points and are not fitted",
                      FitWarning, stacklevel=2)
    problem = FitProblem(
        model=mdl, t=t, y=y, sigma=sigma, mask=mask, p0=start, lower=lower, upper=upper,
        free=free, q=qv, sigma_known=sigma_known, bin_index=bin_sel,
    )
    return problem, np.flatnonzero(fit_ok), skipped

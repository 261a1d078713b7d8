"""Backend-neutral pieces of posterior sampling: sample-site layout and starting points.

Every free parameter is one sample site named like the parameter, with the support and
prior of :attr:`G2Model.priors` (docs/physics.md). An ordered pair of free parameters
(double: tau1 < tau2) is one vector site ``"tau1,tau2"`` on the ordered positive
vectors, with each component's own prior. Without g2 errors a ``noise`` site
(HalfNormal(0.1)) is the likelihood's scale.

Samplers that move in unconstrained coordinates (NUTS) should not sample ``baseline``
itself when ``contrast`` is free too. With ``g2 = baseline + contrast*F(t)`` the data
fix ``baseline + kappa*contrast`` far better than either (kappa is the error-weighted
mean of F over the data: ~1 when the short, precise delays dominate, as in low-q bins
whose long-delay points are noisy; ~0 when the decay is over after a few points), and
with ``contrast`` sampled as a logarithm the constraint ``baseline + kappa*exp(log
contrast) = const`` is a thin *curved* ridge that no linear whitening or mass matrix
straightens (lowest-q bin of the default synthetic file: correlation(baseline,
contrast) = -0.999, whitened Hessian eigenvalues from -4 to 47 one posterior sd from
the mode; NUTS diverged there). :func:`offset_pair` names the pair; such samplers
sample the offset ``baseline + kappa*contrast`` (kappa per bin, from the Laplace
covariance at the starting point) in place of ``baseline``. For a constant kappa the
map (offset, contrast) -> (baseline, contrast) has unit Jacobian, so the priors stay
those of docs/physics.md on ``baseline`` and ``contrast``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xpcs_core.fitting.models import PRIOR_NOISE, Prior
from xpcs_core.fitting.problem import FitProblem, LsqSolution

NOISE = "noise"
OFFSET = "offset"
"""Name of the sampled ``baseline + kappa*contrast`` (see :func:`offset_pair`)."""
SUPPORT_MARGIN = 1e-6


@dataclass(frozen=True)
class Site:
    """One sample site: its name, the parameters it holds, their priors."""

    name: str
    params: tuple[str, ...]
    priors: tuple[Prior, ...]
    ordered: bool = False


def sites(problem: FitProblem) -> tuple[Site, ...]:
    """The sample sites of ``problem``'s free parameters (in model order)."""
    mdl = problem.model
    free = set(problem.free)
    paired: dict[str, tuple[str, str]] = {}
    for a, b in mdl.ordered:
        if a in free and b in free:
            paired[a] = paired[b] = (a, b)
    out: list[Site] = []
    seen: set[str] = set()
    for name in problem.free:
        if name in seen:
            continue
        if name in paired:
            a, b = paired[name]
            out.append(Site(f"{a},{b}", (a, b), (mdl.priors[a], mdl.priors[b]), ordered=True))
            seen.update((a, b))
        else:
            out.append(Site(name, (name,), (mdl.priors[name],)))
            seen.add(name)
    if not problem.sigma_known:
        out.append(Site(NOISE, (NOISE,), (PRIOR_NOISE,)))
    return tuple(out)


def offset_pair(problem: FitProblem) -> tuple[str, str] | None:
    """``("baseline", "contrast")`` when a sampler should sample ``baseline +
    kappa*contrast`` in place of ``baseline``: both free, ``baseline`` with an unbounded
    support (so the offset needs no constraint), neither in an ordered pair. Else None."""
    mdl = problem.model
    if "baseline" not in problem.free or "contrast" not in problem.free:
        return None
    lo, hi = mdl.priors["baseline"].support
    if math.isfinite(lo) or math.isfinite(hi):
        return None
    if any("contrast" in pair or "baseline" in pair for pair in mdl.ordered):
        return None
    return ("baseline", "contrast")


def sampled_names(problem: FitProblem) -> tuple[str, ...]:
    """Names of the sampled quantities, in order (free parameters, then ``noise``)."""
    return tuple(problem.free) + (() if problem.sigma_known else (NOISE,))


def _inside(x: np.ndarray, support: tuple[float, float]) -> np.ndarray:
    lo, hi = support
    if math.isfinite(lo) and math.isfinite(hi):
        span = hi - lo
        return np.clip(x, lo + SUPPORT_MARGIN * span, hi - SUPPORT_MARGIN * span)
    if math.isfinite(lo):
        return np.where(x > lo, x, lo + 1e-12 * max(1.0, abs(lo)))
    if math.isfinite(hi):
        return np.where(x < hi, x, hi - 1e-12 * max(1.0, abs(hi)))
    return x


def start_values(problem: FitProblem, start: LsqSolution | None) -> dict[str, np.ndarray]:
    """Chain starting values per bin: the least-squares point, moved strictly inside each
    prior's support (and ordered pairs put in order). Falls back to the problem's
    starting values where the least-squares point is not finite.

    Also gives ``noise`` (the rms weighted residual) when the problem has no errors.
    """
    mdl = problem.model
    base = problem.p0.copy()
    if start is not None:
        ok = np.all(np.isfinite(start.params), axis=1)
        base[ok] = start.params[ok]
    out = {}
    for name in problem.free:
        j = mdl.index(name)
        out[name] = _inside(base[:, j], mdl.priors[name].support)
    for a, b in mdl.ordered:
        if a in out and b in out:
            lo = np.minimum(out[a], out[b])
            hi = np.maximum(out[a], out[b])
            out[a], out[b] = lo, np.maximum(hi, lo * (1.0 + 1e-6))
    if not problem.sigma_known:
        if start is not None and np.all(np.isfinite(start.chi2)):
            n = np.maximum(problem.n_points - len(problem.free), 1)
            noise = np.sqrt(start.chi2 / n)
        else:
            noise = np.full(problem.n_bins, 0.01)
        out[NOISE] = np.maximum(noise, 1e-6)
    return out


def prior_locations(problem: FitProblem, start: LsqSolution | None) -> dict[str, np.ndarray]:
    """Per-bin values the priors are centred on (the least-squares values: tau's
    LogNormal(log tau_lsq, 2))."""
    vals = start_values(problem, start)
    return {k: v for k, v in vals.items() if k != NOISE}

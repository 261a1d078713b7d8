"""Posterior sampling with emcee: one ensemble per q-bin, vectorised over walkers.

Defaults (emcee's own, not NUTS's): 32 walkers (at least 2*n_dim + 2; ``chains`` sets
the number of walkers), 1000 burn-in and 3000 kept steps per walker, differential-
evolution moves (80 % DEMove, 20 % DESnookerMove): on g2 posteriors their
autocorrelation time is ~13 steps against ~38 for the default stretch move, which
brings the walkers' R-hat below 1.01 with these lengths.
Walkers start in a small Gaussian ball around the least-squares point (0.1 of its
standard errors), inside the priors' support. Bins run one after another, or in
``settings.workers`` processes.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from scipy import special

from xpcs_core.errors import XpcsCancelled
from xpcs_core.kernels.lsq import Layout
from xpcs_core.kernels.posterior import NOISE, prior_locations, sampled_names, start_values
from xpcs_core.fitting.problem import FitProblem, LsqSolution, PosteriorDraws, SamplerSettings

DEFAULTS = {"chains": 32, "warmup": 1000, "draws": 3000}
CHECK_EVERY = 100


_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class _Prior:
    """Log density of a docs/physics.md prior (vectorised; constants from scipy.special)."""

    def __init__(self, prior: Any, loc: float) -> None:
        self.family = prior.family
        self.args = tuple(float(a) for a in prior.resolved_args(loc))
        if self.family == "beta":
            self.const = -float(special.betaln(*self.args))
        elif self.family not in ("normal", "halfnormal", "lognormal"):
            raise ValueError(f"prior family {prior.family!r} is not supported by the numpy backend")

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density at ``x`` (inside the support)."""
        f, a = self.family, self.args
        if f == "normal":
            return -0.5 * ((x - a[0]) / a[1]) ** 2 - math.log(a[1]) - _LOG_SQRT_2PI
        if f == "halfnormal":
            return -0.5 * (x / a[0]) ** 2 - math.log(a[0]) - _LOG_SQRT_2PI + math.log(2.0)
        if f == "lognormal":
            lx = np.log(x)
            return -0.5 * ((lx - a[0]) / a[1]) ** 2 - math.log(a[1]) - _LOG_SQRT_2PI - lx
        return (a[0] - 1.0) * np.log(x) + (a[1] - 1.0) * np.log1p(-x) + self.const


class LogPosterior:
    """Vectorised log posterior of one bin: ``theta`` (n_walkers, n_dim) -> (n_walkers,)."""

    def __init__(self, problem: FitProblem, b: int, locs: dict[str, np.ndarray]) -> None:
        mdl = problem.model
        self.layout = Layout.of(problem)
        self.names = sampled_names(problem)
        self.n_free = len(problem.free)
        self.t = problem.t
        self.y = problem.y[b][problem.mask[b]]
        self.sigma = problem.sigma[b][problem.mask[b]]
        self.mask = problem.mask[b]
        self.t_used = problem.t[self.mask]
        self.p_full = problem.p0[b]
        self.sigma_known = problem.sigma_known
        priors = dict(mdl.priors)
        if not self.sigma_known:
            from xpcs_core.fitting.models import PRIOR_NOISE

            priors[NOISE] = PRIOR_NOISE
        self.priors = [
            _Prior(priors[n], float(locs[n][b]) if n in locs else 1.0) for n in self.names
        ]
        self.supports = [priors[n].support for n in self.names]
        self.ordered = [
            (self.names.index(a), self.names.index(c))
            for a, c in mdl.ordered if a in self.names and c in self.names
        ]

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        lp = np.zeros(theta.shape[0])
        ok = np.ones(theta.shape[0], dtype=bool)
        with np.errstate(all="ignore"):
            for k, (prior, (lo, hi)) in enumerate(zip(self.priors, self.supports)):
                v = theta[:, k]
                ok &= (v > lo) & (v < hi)
                lp += prior.logpdf(v)
        for i, j in self.ordered:
            ok &= theta[:, i] < theta[:, j]
        x_free = theta[:, : self.n_free]
        with np.errstate(all="ignore"):
            mu = self.layout.model.fn(np, self.t_used, self.layout.params(np, x_free, self.p_full[None, :]))
            scale = self.sigma if self.sigma_known else theta[:, self.n_free, None]
            z = (mu - self.y) / scale
            loglik = -0.5 * np.sum(z * z, axis=-1) - np.sum(np.log(np.broadcast_to(scale, z.shape)), axis=-1)
        out = np.where(ok & np.isfinite(loglik), lp + loglik, -np.inf)
        return out


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent (which cancels and reports it in one line)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _initial_ball(rng: np.random.Generator, center: np.ndarray, scale: np.ndarray,
                  logp: LogPosterior, n_walkers: int) -> np.ndarray:
    """Walkers around ``center`` with a finite log posterior (shrinking the ball if needed)."""
    pos = np.empty((n_walkers, center.size))
    filled = 0
    s = scale.copy()
    for _ in range(50):
        trial = center + s * rng.standard_normal((n_walkers, center.size))
        good = np.isfinite(logp(trial))
        take = trial[good][: n_walkers - filled]
        pos[filled: filled + take.shape[0]] = take
        filled += take.shape[0]
        if filled == n_walkers:
            return pos
        s = s * 0.5
    pos[filled:] = center
    return pos


def _run_bin(args: tuple[Any, ...]) -> dict[str, np.ndarray]:
    import emcee

    logp, center, scale, n_walkers, warmup, draws, seed, cancel = args
    rng = np.random.default_rng(seed)
    p0 = _initial_ball(rng, center, scale, logp, n_walkers)
    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(n_walkers, center.size, logp, vectorize=True, moves=moves)
    state = emcee.State(p0, random_state=np.random.RandomState(seed % (2**32)).get_state())
    total = warmup + draws
    for k, state in enumerate(sampler.sample(state, iterations=total, store=True), start=1):
        if cancel is not None and k % CHECK_EVERY == 0 and cancel.is_set():
            raise XpcsCancelled(f"emcee cancelled after {k} of {total} steps")
    chain = sampler.get_chain(discard=warmup)  # (draws, walkers, dim)
    lp = sampler.get_log_prob(discard=warmup)
    return {"chain": np.transpose(chain, (1, 0, 2)), "lp": lp.T,
            "acceptance": sampler.acceptance_fraction}


def sample_emcee(problem: FitProblem, start: LsqSolution | None,
                 settings: SamplerSettings) -> PosteriorDraws:
    """emcee for every bin of ``problem``; draws (walker, draw, bin)."""
    names = sampled_names(problem)
    n_dim = len(names)
    cfg = settings.resolved(DEFAULTS)
    n_walkers = max(cfg["chains"], 2 * n_dim + 2)
    starts = start_values(problem, start)
    locs = prior_locations(problem, start)
    center = np.stack([starts[n] for n in names], axis=1)
    err = np.full_like(center, np.nan)
    if start is not None:
        free_idx = problem.free_index
        err[:, : len(problem.free)] = start.errors[:, free_idx]
    fallback = 1e-3 * np.maximum(np.abs(center), 1e-6)
    scale = np.where(np.isfinite(err) & (err > 0), 0.1 * err, fallback)
    seeds = np.random.SeedSequence(cfg["seed"]).generate_state(problem.n_bins, dtype=np.uint64)
    jobs = [
        (LogPosterior(problem, b, locs), center[b], scale[b], n_walkers, cfg["warmup"],
         cfg["draws"], int(seeds[b]), settings.cancel)
        for b in range(problem.n_bins)
    ]
    total = problem.n_bins * (cfg["warmup"] + cfg["draws"])
    per_bin = cfg["warmup"] + cfg["draws"]
    results: list[dict[str, np.ndarray]] = []
    if settings.workers > 1 and problem.n_bins > 1:
        # fork is unsafe once a multithreaded library (jax) is loaded in this process
        ctx = multiprocessing.get_context("spawn") if "jax" in sys.modules else None
        with ProcessPoolExecutor(max_workers=settings.workers, mp_context=ctx,
                                 initializer=_ignore_sigint) as pool:
            futures = [pool.submit(_run_bin, job[:-1] + (None,)) for job in jobs]
            for b, fut in enumerate(futures):
                if settings.cancel is not None and settings.cancel.is_set():
                    for f in futures:
                        f.cancel()
                    raise XpcsCancelled(f"emcee cancelled after {b} of {problem.n_bins} bins")
                results.append(fut.result())
                if settings.progress is not None:
                    settings.progress((b + 1) * per_bin, total)
    else:
        for b, job in enumerate(jobs):
            results.append(_run_bin(job))
            if settings.progress is not None:
                settings.progress((b + 1) * per_bin, total)
    chain = np.stack([r["chain"] for r in results], axis=-2)  # (walker, draw, bin, dim)
    draws = {n: np.ascontiguousarray(chain[..., i]) for i, n in enumerate(names)}
    lp = np.stack([r["lp"] for r in results], axis=-1)
    acc = np.stack([r["acceptance"] for r in results], axis=-1)  # (walker, bin)
    return PosteriorDraws(
        draws=draws,
        sample_stats={"lp": lp, "acceptance_fraction": np.broadcast_to(acc[:, None, :], lp.shape).copy()},
        sampler="emcee",
        settings={**cfg, "walkers": n_walkers, "moves": "DEMove 0.8 + DESnookerMove 0.2", "ball": "0.1 x LSQ errors"},
    )


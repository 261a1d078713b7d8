"""tau(q) power law, tau = a * q**(-alpha), and the diffusion coefficient.

With g2 = baseline + contrast*exp(-2 t/tau) and Brownian motion (g1 = exp(-D q^2 t)),
tau = 1/(D q^2): alpha = 2 and D = 1/a (tau in s, q in 1/Å: D in Å²/s;
1 µm²/s = 1e8 Å²/s). Stokes-Einstein: R = kT / (6 pi eta D).

The fit is linear in log space: log tau = log a - alpha log q, weighted by each bin's
relative tau error (sigma_log = tau_err / tau), errors from the covariance as
``curve_fit(absolute_sigma=True)``. The Bayesian variant propagates each bin's
posterior: the same weighted fit is applied to every joint posterior draw of the taus
(weights from each bin's posterior sd of log tau), giving draws of a, alpha and D
(for Gaussian per-bin posteriors this is the flat-prior posterior of the power law).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsInputError

K_BOLTZMANN = 1.380649e-23
A2_PER_UM2 = 1e8


@dataclass
class PowerLawFit:
    """One power-law fit. ``a`` in s·Å^-alpha; errors are 1 sd; ``draws`` for Bayesian fits."""

    a: float
    a_err: float
    alpha: float
    alpha_err: float
    alpha_fixed: bool
    chi2: float
    n_bins: int
    method: str
    log_a: float = math.nan
    log_a_err: float = math.nan
    draws: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def redchi2(self) -> float:
        dof = self.n_bins - (1 if self.alpha_fixed else 2)
        return self.chi2 / dof if dof > 0 else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "a_err": self.a_err, "alpha": self.alpha, "alpha_err": self.alpha_err,
                "alpha_fixed": self.alpha_fixed, "chi2": self.chi2, "redchi2": self.redchi2,
                "n_bins": self.n_bins, "method": self.method}


@dataclass
class TauQFit:
    """tau(q) fits: ``free`` (alpha fitted) and ``brownian`` (alpha fixed at 2), and D.

    ``D_A2_per_s`` and its error come from the ``brownian`` fit: D = 1/a. ``radius_m``
    (Stokes-Einstein) when temperature (K) and viscosity (Pa·s) were given.
    """

    param: str
    q: np.ndarray
    tau: np.ndarray
    tau_err: np.ndarray
    used: np.ndarray
    free: PowerLawFit | None
    brownian: PowerLawFit
    D_A2_per_s: float
    D_A2_per_s_err: float
    temperature: float | None = None
    viscosity: float | None = None

    @property
    def D_um2_per_s(self) -> float:
        return self.D_A2_per_s / A2_PER_UM2

    @property
    def D_um2_per_s_err(self) -> float:
        return self.D_A2_per_s_err / A2_PER_UM2

    @property
    def radius_m(self) -> float | None:
        """Hydrodynamic radius R = kT/(6 pi eta D), metres."""
        if self.temperature is None or self.viscosity is None:
            return None
        d_m2 = self.D_A2_per_s * 1e-20
        return K_BOLTZMANN * self.temperature / (6.0 * math.pi * self.viscosity * d_m2)

    @property
    def radius_m_err(self) -> float | None:
        r = self.radius_m
        return None if r is None else r * self.D_A2_per_s_err / self.D_A2_per_s

    def as_dict(self) -> dict[str, Any]:
        """The ``tauq`` object of ``xpcs fit --json``."""
        out: dict[str, Any] = {
            "param": self.param,
            "a": self.brownian.a,
            "a_err": self.brownian.a_err,
            "alpha": self.free.alpha if self.free else 2.0,
            "alpha_err": self.free.alpha_err if self.free else 0.0,
            "D_A2_per_s": {"value": self.D_A2_per_s, "err": self.D_A2_per_s_err},
            "D_um2_per_s": {"value": self.D_um2_per_s, "err": self.D_um2_per_s_err},
            "method": self.brownian.method,
            "n_bins": int(self.used.sum()),
            "brownian": self.brownian.as_dict(),
            "free": self.free.as_dict() if self.free else None,
        }
        if self.radius_m is not None:
            out["radius_nm"] = {"value": self.radius_m * 1e9, "err": self.radius_m_err * 1e9,
                                "temperature_K": self.temperature, "viscosity_Pa_s": self.viscosity}
        return out


def _weighted_linear(x: np.ndarray, y: np.ndarray, w: np.ndarray,
                     alpha: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (log a, alpha) and covariance of log tau = log a - alpha*log q."""
    if alpha is not None:
        sw = w.sum()
        log_a = np.sum(w * (y + alpha * x), axis=-1) / sw
        return np.stack([log_a, np.full_like(log_a, alpha)], axis=-1), np.array([[1.0 / sw, 0.0], [0.0, 0.0]])
    design = np.stack([np.ones_like(x), -x], axis=1)
    fisher = design.T @ (w[:, None] * design)
    if not np.all(np.isfinite(fisher)) or np.linalg.cond(fisher) > 1e14:
        raise XpcsInputError("tau(q) is not computable: the q values (or their weights) leave "
                             "the power law undetermined")
    cov = np.linalg.inv(fisher)
    coef = (cov @ (design.T * w) @ y.T).T
    return coef, cov


def power_law(q: np.ndarray, tau: np.ndarray, tau_err: np.ndarray, alpha: float | None = None) -> PowerLawFit:
    """Least-squares tau = a*q^-alpha (``alpha=None``: fitted)."""
    x, y = np.log(q), np.log(tau)
    w = (tau / tau_err) ** 2
    coef, cov = _weighted_linear(x, y, w, alpha)
    log_a, al = float(coef[0]), float(coef[1])
    resid = y - (log_a - al * x)
    a = math.exp(log_a) if -700.0 < log_a < 700.0 else math.nan
    if not (math.isfinite(a) and a > 0 and math.isfinite(al) and np.all(np.isfinite(cov))):
        raise XpcsInputError(f"tau(q) is not computable: the power law overflows (log a = {log_a:.3g})")
    return PowerLawFit(
        a=a, a_err=a * math.sqrt(cov[0, 0]), alpha=al,
        alpha_err=0.0 if alpha is not None else math.sqrt(cov[1, 1]),
        alpha_fixed=alpha is not None, chi2=float(np.sum(w * resid**2)), n_bins=int(q.size),
        method="lsq", log_a=log_a, log_a_err=math.sqrt(cov[0, 0]),
    )


def power_law_bayes(q: np.ndarray, tau_draws: np.ndarray, alpha: float | None = None) -> PowerLawFit:
    """Power law from joint posterior draws of tau, ``tau_draws`` (n_draws, n_bins)."""
    x = np.log(q)
    ly = np.log(tau_draws)
    sd = ly.std(axis=0)
    w = 1.0 / np.maximum(sd, 1e-300) ** 2
    coef, _ = _weighted_linear(x, ly, w, alpha)
    log_a = coef[:, 0]
    if not np.all(np.isfinite(log_a) & (np.abs(log_a) < 700.0)):
        raise XpcsInputError("tau(q) is not computable: the power law overflows")
    a = np.exp(log_a)
    al = coef[:, 1]
    mean_ly = ly.mean(axis=0)
    resid = mean_ly - (log_a.mean() - al.mean() * x)
    return PowerLawFit(
        a=float(a.mean()), a_err=float(a.std()), alpha=float(al.mean()),
        alpha_err=0.0 if alpha is not None else float(al.std()), alpha_fixed=alpha is not None,
        chi2=float(np.sum(w * resid**2)), n_bins=int(q.size), method="bayes",
        log_a=float(log_a.mean()), log_a_err=float(log_a.std()),
        draws={"a": a, "alpha": al, "D": 1.0 / a},
    )


def _optional(fit: Any, *args: Any) -> PowerLawFit | None:
    """The free-exponent fit, or None where only the alpha = 2 fit is determined (one q)."""
    try:
        return fit(*args)
    except XpcsInputError:
        return None


def fit_tauq(
    source: Any = None,
    *,
    q: Any = None,
    tau: Any = None,
    tau_err: Any = None,
    tau_draws: Any = None,
    param: str | None = None,
    method: str = "auto",
    temperature: float | None = None,
    viscosity: float | None = None,
) -> TauQFit:
    """Fit tau(q) = a q^-alpha, free and with alpha = 2, and derive D (and R).

    ``source`` is a :class:`~xpcs_core.fitting.result.FitResult` (its successful bins
    whose ``param`` is not on a bound), or give ``q``, ``tau``, ``tau_err`` arrays
    (and optionally ``tau_draws`` (n_draws, n_bins) for the Bayesian fit).
    ``param`` defaults to ``tau`` (``tau1`` for the double model). ``method``:
    ``"lsq"``, ``"bayes"`` (needs draws) or ``"auto"`` (bayes when draws exist).
    """
    if source is not None:
        q, tau, tau_err, tau_draws, used, param = source.tauq_inputs(param)
    else:
        if q is None or tau is None or tau_err is None:
            raise XpcsInputError("fit_tauq needs a FitResult or q, tau and tau_err")
        q = np.asarray(q, dtype=np.float64).ravel()
        tau = np.asarray(tau, dtype=np.float64).ravel()
        tau_err = np.asarray(tau_err, dtype=np.float64).ravel()
        if not q.shape == tau.shape == tau_err.shape:
            raise XpcsInputError(f"q, tau and tau_err must have the same length ({q.size}, {tau.size}, {tau_err.size})")
        used = np.isfinite(q) & np.isfinite(tau) & np.isfinite(tau_err) & (q > 0) & (tau > 0) & (tau_err > 0)
        param = param or "tau"
        if tau_draws is not None:
            tau_draws = np.asarray(tau_draws, dtype=np.float64)
            tau_draws = tau_draws.reshape(-1, tau_draws.shape[-1])
            used &= np.all(np.isfinite(tau_draws) & (tau_draws > 0), axis=0)
    if method not in ("auto", "lsq", "bayes"):
        raise XpcsInputError(f"tau(q) method must be auto, lsq or bayes, got {method!r}")
    if method == "bayes" and tau_draws is None:
        raise XpcsInputError("a Bayesian tau(q) fit needs posterior draws of tau (fit with bayes=True)")
    n = int(used.sum())
    if n < 2:
        raise XpcsInputError(f"tau(q) needs at least 2 successfully fitted bins, found {n}")
    qu, tu, eu = q[used], tau[used], tau_err[used]
    bayes = tau_draws is not None and method in ("auto", "bayes")
    if bayes:
        draws = tau_draws[:, used]
        brownian = power_law_bayes(qu, draws, alpha=2.0)
        free = _optional(power_law_bayes, qu, draws) if n >= 3 else None
        d_draws = brownian.draws["D"]
        d_val, d_err = float(d_draws.mean()), float(d_draws.std())
    else:
        brownian = power_law(qu, tu, eu, alpha=2.0)
        free = _optional(power_law, qu, tu, eu) if n >= 3 else None
        d_val = 1.0 / brownian.a
        d_err = d_val * brownian.log_a_err
    return TauQFit(
        param=param, q=q, tau=tau, tau_err=tau_err, used=used, free=free, brownian=brownian,
        D_A2_per_s=d_val, D_A2_per_s_err=d_err, temperature=temperature, viscosity=viscosity,
    )

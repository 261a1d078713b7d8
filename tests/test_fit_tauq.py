"""tau(q) power law, D with its uncertainty and units, Stokes-Einstein radius."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xpcs_core import fit_tauq
from xpcs_core.errors import XpcsInputError
from xpcs_core.fitting.tauq import K_BOLTZMANN

Q = np.logspace(np.log10(0.002), np.log10(0.03), 12)


def test_exact_brownian_data_give_d_in_both_units():
    d = 2.5e5  # Å²/s
    tau = 1.0 / (d * Q**2)
    fit = fit_tauq(q=Q, tau=tau, tau_err=0.01 * tau)
    assert fit.D_A2_per_s == pytest.approx(d, rel=1e-12)
    assert fit.D_um2_per_s == pytest.approx(d / 1e8, rel=1e-12)
    assert fit.free.alpha == pytest.approx(2.0, abs=1e-12)
    assert fit.brownian.a == pytest.approx(1.0 / d, rel=1e-12)
    # 1 % error per bin on 12 bins: sd(log a) = 0.01/sqrt(12)
    assert fit.D_A2_per_s_err == pytest.approx(d * 0.01 / math.sqrt(12), rel=1e-9)
    out = fit.as_dict()
    assert out["D_A2_per_s"]["value"] == pytest.approx(d)
    assert out["alpha"] == pytest.approx(2.0)


def test_free_exponent_and_error_bars_are_calibrated():
    rng = np.random.default_rng(1)
    d, alpha = 1e5, 2.3
    pulls_a = []
    for _ in range(300):
        tau = 1.0 / (d * Q**alpha) * 1e-2 ** (alpha - 2)
        rel = 0.03
        tau_obs = tau * np.exp(rel * rng.standard_normal(Q.size))
        fit = fit_tauq(q=Q, tau=tau_obs, tau_err=rel * tau_obs)
        pulls_a.append((fit.free.alpha - alpha) / fit.free.alpha_err)
    assert abs(np.mean(pulls_a)) < 0.2 and 0.85 < np.std(pulls_a) < 1.15


def test_d_error_bar_covers_truth_at_the_nominal_rate():
    rng = np.random.default_rng(2)
    d = 3e4
    pulls = []
    for _ in range(400):
        tau = 1.0 / (d * Q**2)
        obs = tau * np.exp(0.05 * rng.standard_normal(Q.size))  # 5 % relative errors
        fit = fit_tauq(q=Q, tau=obs, tau_err=0.05 * obs)
        pulls.append((fit.D_A2_per_s - d) / fit.D_A2_per_s_err)
    pulls = np.array(pulls)
    assert abs(pulls.mean()) < 0.2
    assert 0.6 < np.mean(np.abs(pulls) < 1) < 0.76  # ~68 %


def test_bayesian_propagation_of_tau_draws():
    """Gaussian per-bin posteriors: the propagated D matches the least-squares D."""
    rng = np.random.default_rng(3)
    d = 1e5
    tau = 1.0 / (d * Q**2)
    rel = 0.02 * np.linspace(1, 3, Q.size)
    draws = tau * np.exp(rel * rng.standard_normal((20000, Q.size)))
    bayes = fit_tauq(q=Q, tau=tau, tau_err=rel * tau, tau_draws=draws)
    lsq = fit_tauq(q=Q, tau=tau, tau_err=rel * tau, method="lsq")
    assert bayes.brownian.method == "bayes" and lsq.brownian.method == "lsq"
    assert bayes.D_A2_per_s == pytest.approx(lsq.D_A2_per_s, rel=2e-3)
    assert bayes.D_A2_per_s_err == pytest.approx(lsq.D_A2_per_s_err, rel=0.05)
    assert bayes.free.alpha_err == pytest.approx(lsq.free.alpha_err, rel=0.05)


def test_stokes_einstein_radius():
    # a 100 nm radius sphere in water at 298.15 K
    t, eta, r = 298.15, 0.89e-3, 100e-9
    d_m2 = K_BOLTZMANN * t / (6 * math.pi * eta * r)
    d_a2 = d_m2 * 1e20
    tau = 1.0 / (d_a2 * Q**2)
    fit = fit_tauq(q=Q, tau=tau, tau_err=0.01 * tau, temperature=t, viscosity=eta)
    assert fit.D_um2_per_s == pytest.approx(d_m2 * 1e12, rel=1e-9)  # ~2.45 µm²/s
    assert fit.radius_m == pytest.approx(r, rel=1e-9)
    assert fit.as_dict()["radius_nm"]["value"] == pytest.approx(100.0, rel=1e-9)


def test_needs_two_usable_bins():
    with pytest.raises(XpcsInputError, match="at least 2"):
        fit_tauq(q=Q[:1], tau=np.ones(1), tau_err=np.ones(1))
    with pytest.raises(XpcsInputError, match="draws"):
        fit_tauq(q=Q, tau=np.ones(Q.size), tau_err=np.ones(Q.size), method="bayes")

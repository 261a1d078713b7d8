"""Conformance: batched least-squares g2 fits (hook ``xpcs_fit_lsq``).

Parameters must agree with the NumPy reference at rtol 1e-5 (docs/physics.md), and recover
the known truth of seeded synthetic data within their errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.testing import assert_close, require_hook

MODELS = ("single", "stretched", "double")


def synthetic(model: str, n_bins: int = 6, seed: int = 7) -> dict[str, np.ndarray]:
    """Seeded g2 (n_tau, n_bins) with known parameters, as a result file holds it."""
    from xpcs_core.fitting import get_model

    rng = np.random.default_rng(seed)
    t = np.logspace(-5, 0, 50)
    q = np.linspace(0.004, 0.012, n_bins)
    tau = 1.0 / (1e6 * q**2)  # 6.9e-3 .. 6.3e-2 s... scaled into the window below
    tau = tau * 1e-1
    truth = {"baseline": 1.0 + 0.002 * rng.standard_normal(n_bins),
             "contrast": 0.2 + 0.1 * rng.random(n_bins)}
    if model == "double":
        truth |= {"tau1": tau / 3.0, "tau2": tau * 4.0, "fraction": 0.4 + 0.2 * rng.random(n_bins)}
    else:
        truth["tau"] = tau
    if model == "stretched":
        truth["beta"] = 0.7 + 0.6 * rng.random(n_bins)
    mdl = get_model(model)
    g2 = mdl.fn(np, t[:, None], {k: v[None, :] for k, v in truth.items()})
    err = np.full_like(g2, 0.002 if model != "double" else 0.0005)
    g2 = g2 + err * rng.standard_normal(g2.shape)
    return {"t": t, "g2": g2, "g2_err": err, "q": q, "truth": truth}


def _problem(data: dict[str, np.ndarray], model: str, **kwargs):
    from xpcs_core.fitting import build_problem

    problem, bins, _ = build_problem(data["t"], data["g2"], data["g2_err"], model=model, q=data["q"], **kwargs)
    return problem.subset(bins)


@pytest.fixture(scope="module")
def datasets() -> dict[str, dict[str, np.ndarray]]:
    return {m: synthetic(m) for m in MODELS}


@pytest.mark.parametrize("model", MODELS)
def test_lsq_matches_reference(xpcs_backend, xpcs_reference, datasets, model):
    _check_against_reference(xpcs_backend, xpcs_reference, datasets, model)


def test_lsq_matches_reference_each_exec_mode(xpcs_backend, xpcs_reference, xpcs_exec_mode, datasets):
    """Compiled and eager execution give the reference answer (one model: eager is slow)."""
    _check_against_reference(xpcs_backend, xpcs_reference, datasets, "single")


def _check_against_reference(xpcs_backend, xpcs_reference, datasets, model):
    require_hook(xpcs_backend, "xpcs_fit_lsq")
    problem = _problem(datasets[model], model)
    got = xpcs_backend.call("xpcs_fit_lsq", problem=problem)
    ref = xpcs_reference.call("xpcs_fit_lsq", problem=problem)
    assert ref.success.all(), ref.message
    np.testing.assert_array_equal(got.success, ref.success, err_msg=str(got.message))
    for arr in (got.params, got.errors, got.cov, got.chi2):
        assert isinstance(arr, np.ndarray), "LsqSolution arrays must be NumPy arrays"
    assert_close(got.params, ref.params, "lsq_params", err_msg=f"{model} parameters")
    np.testing.assert_allclose(got.errors, ref.errors, rtol=1e-3, err_msg=f"{model} errors")
    np.testing.assert_allclose(got.chi2, ref.chi2, rtol=1e-8, err_msg=f"{model} chi2")
    assert len(got.message) == problem.n_bins


@pytest.mark.parametrize("model", MODELS)
def test_lsq_recovers_truth(xpcs_backend, datasets, model):
    require_hook(xpcs_backend, "xpcs_fit_lsq")
    data = datasets[model]
    problem = _problem(data, model)
    sol = xpcs_backend.call("xpcs_fit_lsq", problem=problem)
    assert sol.success.all(), sol.message
    for j, name in enumerate(problem.model.params):
        pull = (sol.params[:, j] - data["truth"][name]) / sol.errors[:, j]
        assert np.all(np.abs(pull) < 4.5), f"{model}.{name}: pulls {pull}"
        assert np.all(sol.params[:, j] >= problem.lower[:, j])
        assert np.all(sol.params[:, j] <= problem.upper[:, j])
    redchi2 = sol.chi2 / (problem.n_points - len(problem.free))
    assert np.all((redchi2 > 0.4) & (redchi2 < 2.0)), redchi2


def test_lsq_fixed_parameter_and_active_bound(xpcs_backend, xpcs_reference, datasets):
    require_hook(xpcs_backend, "xpcs_fit_lsq")
    data = datasets["single"]
    # baseline fixed at 1; contrast capped below the truth (0.2..0.3), so it sits on the bound
    problem = _problem(data, "single", fix={"baseline": 1.0}, bounds={"contrast": (0.01, 0.15)})
    got = xpcs_backend.call("xpcs_fit_lsq", problem=problem)
    ref = xpcs_reference.call("xpcs_fit_lsq", problem=problem)
    assert got.success.all(), got.message
    np.testing.assert_array_equal(got.params[:, 0], 1.0)
    assert np.all(np.isnan(got.errors[:, 0])), "a fixed parameter has no error"
    assert got.cov.shape == (problem.n_bins, 2, 2)
    np.testing.assert_allclose(got.params[:, 1], 0.15, rtol=1e-6)
    assert_close(got.params, ref.params, "lsq_params")


def test_lsq_matches_scipy_curve_fit(xpcs_backend, datasets):
    """Same optimum and errors as a per-bin ``curve_fit(absolute_sigma=True)``."""
    require_hook(xpcs_backend, "xpcs_fit_lsq")
    from scipy.optimize import curve_fit

    data = datasets["single"]
    problem = _problem(data, "single")
    sol = xpcs_backend.call("xpcs_fit_lsq", problem=problem)

    def f(t, b, c, tau):
        return b + c * np.exp(-2.0 * t / tau)

    for i in range(problem.n_bins):
        p, cov = curve_fit(f, data["t"], data["g2"][:, i], p0=problem.p0[i], sigma=data["g2_err"][:, i],
                           absolute_sigma=True, bounds=(problem.lower[i], problem.upper[i]),
                           xtol=1e-15, ftol=1e-15, gtol=1e-15)
        np.testing.assert_allclose(sol.params[i], p, rtol=1e-5)
        np.testing.assert_allclose(sol.errors[i], np.sqrt(np.diag(cov)), rtol=1e-3)

"""g2 models: formulas, analytic derivatives, registry, custom models."""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.errors import XpcsInputError
from xpcs_core.fitting import DOUBLE, G2Model, SINGLE, STRETCHED, get_model, list_models, register_model
from xpcs_core.fitting.models import DEFAULT_PRIORS, default_bounds, decay_guess

T = np.logspace(-6, 1, 40)
P = {
    "single": {"baseline": 1.01, "contrast": 0.3, "tau": 2e-3},
    "stretched": {"baseline": 0.99, "contrast": 0.25, "tau": 5e-2, "beta": 0.7},
    "double": {"baseline": 1.0, "contrast": 0.2, "tau1": 1e-4, "tau2": 1e-1, "fraction": 0.35},
}


def test_formulas_follow_physics_md():
    p = P["single"]
    np.testing.assert_allclose(SINGLE.fn(np, T, p), 1.01 + 0.3 * np.exp(-2 * T / 2e-3), rtol=1e-15)
    p = P["stretched"]
    np.testing.assert_allclose(STRETCHED.fn(np, T, p), 0.99 + 0.25 * np.exp(-2 * (T / 5e-2) ** 0.7), rtol=1e-15)
    p = P["double"]
    g1 = 0.35 * np.exp(-T / 1e-4) + 0.65 * np.exp(-T / 1e-1)
    np.testing.assert_allclose(DOUBLE.fn(np, T, p), 1.0 + 0.2 * g1**2, rtol=1e-15)
    # the single model is the double one with equal times (APS convention: g1 = exp(-t/tau))
    same = dict(P["double"], tau1=2e-3, tau2=2e-3)
    np.testing.assert_allclose(DOUBLE.fn(np, T, same), SINGLE.fn(np, T, dict(P["single"], baseline=1.0, contrast=0.2)))


@pytest.mark.parametrize("name", ["single", "stretched", "double"])
def test_analytic_jacobian_matches_finite_differences(name):
    model = get_model(name)
    p = P[name]
    jac = model.jac(np, T, p)
    for k, v in p.items():
        h = 1e-6 * abs(v)
        up = model.fn(np, T, {**p, k: v + h})
        dn = model.fn(np, T, {**p, k: v - h})
        fd = (up - dn) / (2 * h)
        np.testing.assert_allclose(jac[k], fd, rtol=1e-5, atol=1e-7 * np.abs(fd).max(), err_msg=k)


def test_parameter_names_and_default_bounds():
    assert SINGLE.params == ("baseline", "contrast", "tau")
    assert STRETCHED.params == ("baseline", "contrast", "tau", "beta")
    assert DOUBLE.params == ("baseline", "contrast", "tau1", "tau2", "fraction")
    b = default_bounds(1e-5, 10.0)
    assert b["contrast"] == (0.01, 1.0) and b["baseline"] == (0.9, 1.1)
    assert b["beta"] == (0.3, 2.0) and b["fraction"] == (0.0, 1.0)
    assert b["tau"] == b["tau1"] == b["tau2"] == (1e-5 / 20, 100.0)
    assert DEFAULT_PRIORS["beta"].support == (0.0, 2.0)


def test_registry():
    assert {"single", "stretched", "double"} <= set(list_models())
    assert get_model("SINGLE") is SINGLE
    with pytest.raises(XpcsInputError, match="unknown g2 model"):
        get_model("triple")
    with pytest.raises(XpcsInputError, match="already registered"):
        register_model(SINGLE)
    with pytest.raises(XpcsInputError, match="no prior"):
        G2Model(name="x", params=("a",), fn=lambda xp, t, p: p["a"], bounds=lambda a, b: {}, guess=lambda *a: {})


def test_starting_values_from_the_data():
    tau = np.array([1e-4, 1e-3, 1e-2])
    y = 1.0 + 0.3 * np.exp(-2 * T[None, :] / tau[:, None])
    g = decay_guess(T, y, np.ones_like(y, dtype=bool))
    np.testing.assert_allclose(g["contrast"], 0.3, rtol=0.05)
    np.testing.assert_allclose(g["baseline"], 1.0, atol=1e-6)
    np.testing.assert_allclose(g["tau"], tau, rtol=0.25)  # half-decay crossing, log-interpolated


def _register_linear_decay():
    def fn(xp, t, p):
        return p["baseline"] + p["contrast"] * xp.exp(-t / p["tau"])  # g1 not squared

    model = G2Model(
        name="test-plain-exp", params=("baseline", "contrast", "tau"), fn=fn,
        bounds=default_bounds, guess=lambda t, y, m: {**decay_guess(t, y, m)},
        priors=DEFAULT_PRIORS, log_scale=frozenset({"tau"}),
    )
    return register_model(model, replace=True)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_user_model_fits_without_analytic_jacobian(backend):
    """A registered model without ``jac``: finite differences (numpy) / autodiff (jax)."""
    from xpcs_core import fit_g2

    _register_linear_decay()
    rng = np.random.default_rng(0)
    t = np.logspace(-5, 0, 50)
    tau = np.array([3e-4, 3e-3, 3e-2])
    g2 = 1.0 + 0.25 * np.exp(-t[:, None] / tau)
    err = np.full_like(g2, 0.002)
    res = fit_g2(t=t, g2=g2 + err * rng.standard_normal(g2.shape), g2_err=err, model="test-plain-exp",
                 backend=backend, tauq=False)
    assert res.success.all(), res.message
    assert np.all(np.abs(res.value("tau") - tau) < 4 * res.error("tau"))

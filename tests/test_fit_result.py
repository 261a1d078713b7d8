"""FitResult: ArviZ conversion, JSON/CSV export, HDF5 round trip, posterior summaries."""

from __future__ import annotations

import json
import warnings

import h5py
import numpy as np
import pytest

from xpcs_core import FitResult, fit_g2
from xpcs_core.errors import XpcsInputError
from xpcs_core.fitting.store import read_fit_group


@pytest.fixture(scope="module")
def bayes_fit() -> FitResult:
    rng = np.random.default_rng(5)
    t = np.logspace(-5, 0, 40)
    tau = np.array([3e-4, 2e-3, 1e-2])
    q = 1 / np.sqrt(1e5 * tau)
    g2 = 1.0 + 0.25 * np.exp(-2 * t[:, None] / tau)
    err = np.full_like(g2, 0.004)
    g2 = g2 + err * rng.standard_normal(g2.shape)
    g2[:, 1] = np.nan  # a bin that cannot be fitted: reported, others go on
    with pytest.warns(UserWarning):
        return fit_g2(t=t, g2=g2, g2_err=err, q=q, backend="numpy", bayes=True,
                      warmup=300, draws=600, seed=4)


def test_summary_and_diagnostics_per_bin(bayes_fit):
    r = bayes_fit
    assert r.success.tolist() == [True, False, True]
    assert r.posterior.sampler == "emcee"
    for name in ("baseline", "contrast", "tau"):
        s = r.summary[name]
        assert np.all(s["hdi_low"][[0, 2]] < s["mean"][[0, 2]])
        assert np.all(s["mean"][[0, 2]] < s["hdi_high"][[0, 2]])
        assert np.isnan(s["mean"][1])
        # least-squares point within 2 posterior sd (docs/physics.md check)
        assert np.all(np.abs(r.value(name)[[0, 2]] - s["mean"][[0, 2]]) < 2 * s["sd"][[0, 2]])
    d = r.diagnostics
    assert d["converged"][1] == False  # noqa: E712
    assert d["divergences"].dtype.kind == "i"
    assert r.provenance["posterior"]["backend"] == "numpy"
    assert r.provenance["seed"] == 4


def test_inference_data(bayes_fit):
    idata = bayes_fit.to_inference_data()
    post = idata.posterior
    assert set(post.data_vars) == {"baseline", "contrast", "tau"}
    assert post["tau"].dims == ("chain", "draw", "bin")
    np.testing.assert_allclose(post["q"].values, bayes_fit.q)
    assert "lp" in idata.sample_stats


def test_json_is_strict_and_complete(bayes_fit):
    text = bayes_fit.to_json()
    out = json.loads(text)  # NaN would not parse as strict JSON values
    assert "NaN" not in text
    assert out["backend"] == "numpy" and out["model"] == "single"
    b = out["bins"][0]
    assert set(b["diagnostics"]) >= {"r_hat", "ess_bulk", "ess_tail", "divergences", "converged"}
    assert out["bins"][1]["params"]["tau"]["value"] is None
    assert out["bins"][1]["message"].startswith("too few points")


def test_hdf5_round_trip(tmp_path, bayes_fit):
    path = tmp_path / "fit.h5"
    bayes_fit.save(path)
    g = read_fit_group(path, "single")
    np.testing.assert_array_equal(g["tau"], bayes_fit.value("tau"))
    np.testing.assert_array_equal(g["success"], bayes_fit.success)
    np.testing.assert_array_equal(g["posterior/tau"], bayes_fit.posterior.draws["tau"])
    assert json.loads(g["attrs"]["provenance"])["backend"] == "numpy"
    bayes_fit.save(path, source=path, in_place=True)  # replacing the group is fine
    with h5py.File(path) as f:
        assert list(f["xpcs/fit"]) == ["single"]


def test_no_posterior_has_no_inference_data():
    t = np.logspace(-5, 0, 30)
    r = fit_g2(t=t, g2=1 + 0.2 * np.exp(-2 * t[:, None] / 1e-3), g2_err=np.full((30, 1), 1e-3),
               backend="numpy", tauq=False)
    with pytest.raises(XpcsInputError, match="no posterior"):
        r.to_inference_data()


def test_without_errors_the_noise_is_sampled_and_workers_do_not_change_draws():
    rng = np.random.default_rng(2)
    t = np.logspace(-5, 0, 40)
    g2 = 1 + 0.25 * np.exp(-2 * t[:, None] / np.array([1e-3, 1e-2]))
    g2 = g2 + 0.004 * rng.standard_normal(g2.shape)
    kw = dict(t=t, g2=g2, g2_err=None, backend="numpy", bayes=True, tauq=False)
    from xpcs_core.fitting import SamplerSettings

    with pytest.warns(UserWarning, match="unweighted"):
        one = fit_g2(settings=SamplerSettings(warmup=300, draws=800, seed=3), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two = fit_g2(settings=SamplerSettings(warmup=300, draws=800, seed=3, workers=2), **kw)
    assert set(one.posterior.draws) == {"baseline", "contrast", "tau", "noise"}
    np.testing.assert_allclose(one.summary["noise"]["mean"], 0.004, rtol=0.2)
    for name, draws in one.posterior.draws.items():
        np.testing.assert_array_equal(draws, two.posterior.draws[name])

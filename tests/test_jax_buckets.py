"""jax fits pad bins and delays to a few sizes: other sizes reuse the compiled program,
and the padding changes no answer (docs/architecture.md, "Automatic choice")."""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.backends import Backend
from xpcs_core.fitting import SamplerSettings, build_problem

pytest.importorskip("jax")
from xpcs_jax import _buckets, lsq, posterior  # noqa: E402


def test_bucket_sizes():
    assert [_buckets.power_bucket(n, 8) for n in (1, 8, 9, 16, 17, 100)] == [8, 8, 16, 16, 32, 128]
    assert [_buckets.step_bucket(n, 4) for n in (1, 2, 3, 4, 5, 8, 9, 97)] == [1, 2, 4, 4, 8, 8, 12, 100]
    assert [_buckets.step_bucket(n, 16) for n in (3, 16, 17, 50)] == [4, 16, 32, 64]


def test_padded_delays_are_masked_and_padded_bins_copy_the_first():
    t = np.array([1.0, 2.0, 3.0])
    y = np.arange(6.0).reshape(2, 3)
    per_bin = {"y": y, "sigma": np.ones((2, 3)) * 0.1, "mask": np.ones((2, 3), bool), "p0": np.array([[7.0], [8.0]])}
    t2, out = _buckets.padded(t, per_bin, 4, 5)
    np.testing.assert_array_equal(t2, [1, 2, 3, 3, 3])
    np.testing.assert_array_equal(out["mask"], [[1, 1, 1, 0, 0]] * 4)
    np.testing.assert_array_equal(out["y"][:2, :3], y)
    np.testing.assert_array_equal(out["y"][2:], out["y"][[0, 0]])
    np.testing.assert_array_equal(out["p0"][:, 0], [7, 8, 7, 7])
    assert np.all(out["sigma"][:, 3:] == 1.0)  # finite: a masked point must not make NaN gradients


def _data(n_bins: int, n_t: int, seed: int):
    rng = np.random.default_rng(seed)
    t = np.logspace(-5, 0, n_t)
    tau = np.logspace(-4, -2, n_bins)
    contrast = 0.2 + 0.1 * rng.random(n_bins)
    g2 = 1.0 + contrast * np.exp(-2.0 * t[:, None] / tau)
    err = np.full_like(g2, 0.003)
    problem, bins, _ = build_problem(t, g2 + err * rng.standard_normal(g2.shape), err, model="single")
    return problem.subset(bins), {"tau": tau, "contrast": contrast}


@pytest.mark.parametrize("stored", [True, False])
def test_lsq_of_other_sizes_reuses_the_program_and_matches_numpy(stored, tmp_path, monkeypatch):
    from xpcs_jax import _export

    monkeypatch.setenv("XPCS_CACHE_DIR", str(tmp_path) if stored else "none")
    jax_b, np_b = Backend("jax"), Backend("numpy")
    first, _ = _data(5, 37, seed=1)
    second, truth = _data(7, 45, seed=2)  # same buckets: 8 bins, 64 delays
    jax_b.call("xpcs_fit_lsq", problem=first)
    program = lsq._lsq_program(_layout(first), True)
    compiled, known = program._cache_size(), len(_export.PROGRAMS)
    got = jax_b.call("xpcs_fit_lsq", problem=second)
    if stored:  # one traced program, stored once, run for both
        assert len(list((tmp_path / "jax-export").glob("lsq-*.bin"))) == 1
        assert len(_export.PROGRAMS) == known
    else:
        assert compiled >= 1 and program._cache_size() == compiled  # nothing new was compiled
    want = np_b.call("xpcs_fit_lsq", problem=second)
    assert got.params.shape == want.params.shape == (7, 3)
    np.testing.assert_allclose(got.params, want.params, rtol=1e-6)
    np.testing.assert_allclose(got.errors, want.errors, rtol=1e-5)
    tau = got.params[:, second.model.params.index("tau")]
    tau_err = got.errors[:, second.model.params.index("tau")]
    assert np.all(np.abs(tau - truth["tau"]) < 5 * tau_err)


def _layout(problem):
    from xpcs_core.kernels.lsq import Layout

    return Layout.of(problem)


def test_posterior_of_other_sizes_reuses_the_program():
    jax_b = Backend("jax")
    settings = dict(seed=4, chains=2, warmup=150, draws=150)
    posterior._CACHE.clear()
    first, _ = _data(3, 37, seed=5)
    jax_b.call("xpcs_sample_posterior", problem=first, start=jax_b.call("xpcs_fit_lsq", problem=first),
               settings=SamplerSettings(**settings))
    (progs,) = posterior._CACHE.values()
    compiled = progs["chunk"]._cache_size()
    assert compiled >= 1
    second, truth = _data(4, 40, seed=6)  # same buckets: 4 bins, 48 delays
    start = jax_b.call("xpcs_fit_lsq", problem=second)
    draws = jax_b.call("xpcs_sample_posterior", problem=second, start=start, settings=SamplerSettings(**settings))
    assert len(posterior._CACHE) == 1 and progs["chunk"]._cache_size() == compiled
    tau = draws.draws["tau"]
    assert tau.shape == (2, 150, 4)  # chains, draws, the real bins only
    assert draws.sample_stats["diverging"].shape == (2, 150, 4)
    mean, sd = tau.mean(axis=(0, 1)), tau.std(axis=(0, 1))
    assert np.all(np.abs(mean - truth["tau"]) < 5 * sd)
    # the draws are those of an unpadded run's bins: their mean is the least-squares answer
    tau_lsq = start.params[:, second.model.params.index("tau")]
    assert np.all(np.abs(mean - tau_lsq) < sd)

"""Conformance: posterior sampling of g2 models (hook ``xpcs_sample_posterior``).

On seeded synthetic data of known truth: every bin converges by docs/physics.md's criteria,
the truth lies inside the 95 % HDI for at least 90 % of the bins (per parameter), the
posterior means agree with the NumPy reference (emcee) within 0.1 posterior sd, and a
seed makes a run reproducible. The sampler runs with its default lengths.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from xpcs_core.testing import require_hook

N_BINS = 10


def _data(n_bins: int = N_BINS, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.logspace(-5, 0, 50)
    truth = {"baseline": 1.0 + 0.003 * rng.standard_normal(n_bins),
             "contrast": 0.2 + 0.1 * rng.random(n_bins),
             "tau": np.logspace(-4, -2, n_bins)}
    g2 = truth["baseline"] + truth["contrast"] * np.exp(-2.0 * t[:, None] / truth["tau"])
    err = np.full_like(g2, 0.004)
    return {"t": t, "g2": g2 + err * rng.standard_normal(g2.shape), "g2_err": err, "truth": truth}


def _problem_and_start(backend, data):
    from xpcs_core.fitting import build_problem

    problem, bins, _ = build_problem(data["t"], data["g2"], data["g2_err"], model="single")
    problem = problem.subset(bins)
    start = backend.call("xpcs_fit_lsq", problem=problem) if backend.implements("xpcs_fit_lsq") else None
    return problem, start


def _run(backend, problem, start, **settings):
    from xpcs_core.fitting import SamplerSettings

    return backend.call("xpcs_sample_posterior", problem=problem, start=start,
                        settings=SamplerSettings(**settings))


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def posterior(xpcs_backend, data):
    require_hook(xpcs_backend, "xpcs_sample_posterior")
    problem, start = _problem_and_start(xpcs_backend, data)
    return problem, _run(xpcs_backend, problem, start, seed=11)


@pytest.fixture(scope="module")
def reference_posterior(xpcs_backend, xpcs_reference, data, posterior):
    if xpcs_backend.name == xpcs_reference.name:
        return posterior[1]
    problem, start = _problem_and_start(xpcs_reference, data)
    return _run(xpcs_reference, problem, start, seed=5)


def test_draws_have_the_documented_shape(posterior):
    problem, post = posterior
    assert set(post.draws) == set(problem.free)
    shapes = {v.shape for v in post.draws.values()}
    assert len(shapes) == 1
    chains, draws, bins = shapes.pop()
    assert bins == problem.n_bins and chains >= 2 and draws >= 100
    for k, v in post.sample_stats.items():
        assert v.shape[:3] == (chains, draws, bins), k
    assert post.sampler and isinstance(post.settings, dict)


def test_converges_on_synthetic_truth(posterior, data):
    from xpcs_core.fitting.diagnostics import diagnose, hdi

    problem, post = posterior
    diag = diagnose(post.draws, post.sample_stats)
    assert diag["converged"].all(), {k: diag[k] for k in ("r_hat", "ess_bulk", "ess_tail", "divergences", "bfmi")}
    for name, truth in data["truth"].items():
        h = hdi(post.draws[name], 0.95)
        inside = (h[:, 0] <= truth) & (truth <= h[:, 1])
        assert inside.mean() >= 0.9, f"{name}: truth in the 95% HDI for {inside.sum()}/{inside.size} bins"


def test_means_match_reference(xpcs_backend, xpcs_reference, posterior, reference_posterior):
    if xpcs_backend.name == xpcs_reference.name:
        pytest.skip("the backend under test is the reference")
    _, post = posterior
    for name, ref in reference_posterior.draws.items():
        mean = post.draws[name].mean(axis=(0, 1))
        ref_mean, ref_sd = ref.mean(axis=(0, 1)), ref.std(axis=(0, 1))
        dev = np.abs(mean - ref_mean) / ref_sd
        assert np.all(dev < 0.1), f"{name}: |mean - reference mean| / sd = {np.round(dev, 3)}"


def test_seed_reproduces_and_progress_reports(xpcs_backend):
    require_hook(xpcs_backend, "xpcs_sample_posterior")
    data = _data(n_bins=2, seed=9)
    problem, start = _problem_and_start(xpcs_backend, data)
    calls: list[tuple[int, int]] = []
    short = {"warmup": 100, "draws": 100}
    a = _run(xpcs_backend, problem, start, seed=1, progress=lambda d, t: calls.append((d, t)), **short)
    b = _run(xpcs_backend, problem, start, seed=1, **short)
    c = _run(xpcs_backend, problem, start, seed=2, **short)
    for name in a.draws:
        np.testing.assert_array_equal(a.draws[name], b.draws[name])
        assert not np.array_equal(a.draws[name], c.draws[name])
    assert calls, "progress callback never called"
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1]


def test_cancel_stops_the_run(xpcs_backend):
    require_hook(xpcs_backend, "xpcs_sample_posterior")
    from xpcs_core.errors import XpcsCancelled

    data = _data(n_bins=2, seed=9)
    problem, start = _problem_and_start(xpcs_backend, data)
    event = threading.Event()
    event.set()
    with pytest.raises(XpcsCancelled):
        _run(xpcs_backend, problem, start, seed=1, cancel=event, warmup=100, draws=100)

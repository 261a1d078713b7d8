"""The priors of docs/physics.md ("Bayesian fit") are written twice, once per sampler:
scipy-constant log densities for emcee (numpy backend) and NumPyro distributions (jax
backend). Both must give the same log density at random points of each support."""

from __future__ import annotations

import numpy as np
import pytest

from xpcs_core.fitting.models import PRIOR_NOISE, list_models, get_model

pytest.importorskip("numpyro")


def _priors():
    seen = {}
    for name in list_models():
        for param, prior in get_model(name).priors.items():
            seen[(prior.family, prior.args, prior.support)] = (f"{name}.{param}", prior)
    seen[("noise",)] = ("noise", PRIOR_NOISE)
    return list(seen.values())


@pytest.mark.parametrize("label, prior", _priors(), ids=lambda v: v if isinstance(v, str) else "")
def test_numpy_and_jax_log_densities_agree(label, prior):
    from numpyro import distributions as dist

    from xpcs_jax.posterior import _prior_dist
    from xpcs_jax.runtime import jax_module
    from xpcs_numpy._emcee import _Prior

    jax_module()  # float64 on before jax.numpy is used
    rng = np.random.default_rng(7)
    lo, hi = prior.support
    if prior.family == "normal":
        x = rng.normal(1.0, 0.3, 200)
    else:  # positive supports, bounded to where the densities are not negligible
        x = rng.uniform(max(lo, 1e-6), min(hi, 5.0) - 1e-9, 200)
    for loc in (0.3, 1.0, 2.5e-3):
        want = _Prior(prior, loc).logpdf(x)
        got = np.asarray(_prior_dist(dist, prior, loc).log_prob(x))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=f"{label} loc={loc}")

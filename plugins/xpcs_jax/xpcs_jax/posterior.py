"""Posterior sampling on JAX: NUTS (NumPyro) for every q-bin and chain in one compiled program.

Design (measured on CPU, see docs/fitting.md):

* one NumPyro model per bin (priors of docs/physics.md, Normal likelihood); its potential
  comes from ``numpyro.infer.util.potential_energy``;
* numpyro's functional NUTS kernels (``numpyro.infer.hmc.hmc``) are vmapped over
  bins x chains, so every bin has its own step size and dense mass matrix. The
  iteration counter of the state is kept *unbatched*: with a batched counter the
  adaptation ``cond`` turns into a select that runs the adaptation (with its step-size
  search) at every iteration, which was 100x slower;
* each bin is sampled in coordinates whitened by the Laplace approximation at the
  least-squares point (u = u_lsq + L w, L L^T = H^-1): the posterior is then close to
  N(0, I), so warm-up starts with a sensible mass matrix and numpyro's mass-matrix
  regularisation (shrinkage towards 1e-3 I) does not distort small-scale parameters;
* a linear whitening cannot straighten a *curved* ridge, and sampling baseline next to
  log(contrast) makes one wherever the data pin baseline + kappa*contrast much better
  than either (low-q bins with noisy long delays: corr(baseline, contrast) = -0.999,
  NUTS diverged there). So the offset baseline + kappa*contrast is sampled in place of
  baseline (see :mod:`xpcs_core.kernels.posterior`), with kappa per bin from the
  Laplace covariance at the least-squares point;
* the program runs in chunks of ``CHUNK`` iterations (one compiled ``fori_loop`` with a
  dynamic trip count), between which progress is reported and cancellation checked;
* data go in as arguments, so new data of the same shapes reuse the compiled program,
  and bins and delays are padded to a few sizes (:mod:`xpcs_jax._buckets`: bins to 1, 2, 4,
  then multiples of 4; delays to 1, 2, ..., 16, then multiples of 16) so that other
  files do too (a padded bin costs as much as a real one on a CPU: hence the small step).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_jax._buckets import padded, step_bucket

__all__ = ["xpcs_sample_posterior"]

CHUNK = 50
DEFAULTS = {"chains": 4, "warmup": 500, "draws": 1000}

_CACHE: dict[Any, Any] = {}


def _support(dist: Any, support: tuple[float, float]) -> Any:
    c = dist.constraints
    lo, hi = support
    if math.isfinite(lo) and math.isfinite(hi):
        return c.interval(lo, hi)
    if math.isfinite(lo):
        return c.positive if lo == 0 else c.greater_than(lo)
    if math.isfinite(hi):
        return c.less_than(hi)
    return c.real


def _prior_dist(dist: Any, prior: Any, loc: Any) -> Any:
    import jax.numpy as jnp

    args = prior.resolved_args(loc, jnp.log)
    if prior.family == "normal":
        return dist.Normal(*args)
    if prior.family == "halfnormal":
        return dist.HalfNormal(*args)
    if prior.family == "lognormal":
        return dist.LogNormal(*args)
    if prior.family == "beta":
        return dist.Beta(*args)
    raise ValueError(f"prior family {prior.family!r} is not supported by the jax backend")


def _build(problem: Any, cfg: dict[str, Any], n_t: int) -> dict[str, Any]:
    """Compile-once functions for a model layout, settings and ``n_t`` (padded) delays."""
    from xpcs_jax.runtime import jax_module

    jax = jax_module()
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from jax.flatten_util import ravel_pytree
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import constrain_fn, potential_energy, unconstrain_fn

    from xpcs_core.kernels.lsq import Layout
    from xpcs_core.kernels.posterior import NOISE, OFFSET, offset_pair, sites

    layout = Layout.of(problem)
    site_list = sites(problem)
    pair = offset_pair(problem)
    free = problem.free
    sigma_known = problem.sigma_known
    names = tuple(free) + (() if sigma_known else (NOISE,))

    def model(t: Any, y: Any, sigma: Any, mask: Any, p_full: Any, loc: Any, kappa: Any) -> None:
        values: dict[str, Any] = {}
        offset = None
        for site in site_list:
            if pair is not None and site.name == pair[0]:
                # baseline + kappa*contrast is sampled; baseline follows once contrast is known
                offset = numpyro.sample(OFFSET, dist.ImproperUniform(dist.constraints.real, (), ()))
                continue
            if site.ordered:
                v = numpyro.sample(site.name, dist.ImproperUniform(
                    dist.constraints.positive_ordered_vector, (), (2,)))
                for k, (pname, prior) in enumerate(zip(site.params, site.priors)):
                    numpyro.factor(f"prior:{pname}", _prior_dist(dist, prior, loc[free.index(pname)]).log_prob(v[k]))
                    values[pname] = numpyro.deterministic(pname, v[k])
            else:
                pname, prior = site.params[0], site.priors[0]
                v = numpyro.sample(site.name, dist.ImproperUniform(_support(dist, prior.support), (), ()))
                lval = loc[free.index(pname)] if pname in free else 1.0
                numpyro.factor(f"prior:{pname}", _prior_dist(dist, prior, lval).log_prob(v))
                values[pname] = v
        if pair is not None:
            b_name, c_name = pair
            # (offset, contrast) -> (baseline, contrast) has unit Jacobian: no extra factor
            b = numpyro.deterministic(b_name, offset - kappa * values[c_name])
            prior = problem.model.priors[b_name]
            numpyro.factor(f"prior:{b_name}", _prior_dist(dist, prior, loc[free.index(b_name)]).log_prob(b))
            values[b_name] = b
        x_free = jnp.stack([values[n] for n in free])
        mu = layout.model.fn(jnp, t, layout.params(jnp, x_free, p_full))[..., :]
        scale = sigma if sigma_known else values[NOISE]
        numpyro.sample("obs", dist.Normal(mu, scale).mask(mask), obs=y)

    def site_values(x: Any, kappa: Any) -> dict[str, Any]:
        """Sample-site dict from natural values (n_names,)."""
        vals = {n: x[i] for i, n in enumerate(names)}
        out = {}
        for site in site_list:
            if pair is not None and site.name == pair[0]:
                out[OFFSET] = vals[pair[0]] + kappa * vals[pair[1]]
            else:
                out[site.name] = jnp.stack([vals[p] for p in site.params]) if site.ordered else vals[site.params[0]]
        return out

    dummy = _dummy_args(problem, n_t)
    u_dummy = unconstrain_fn(model, dummy, {}, site_values(jnp.ones(len(names)) * 0.5, 0.0))
    _, unravel0 = ravel_pytree(u_dummy)
    # positions of the offset and contrast sites in the flat unconstrained vector
    probe, _ = ravel_pytree({k: jnp.full(jnp.shape(v), float(i)) for i, (k, v) in enumerate(u_dummy.items())})
    site_pos = {k: int(np.flatnonzero(np.asarray(probe) == i)[0]) for i, k in enumerate(u_dummy)}

    def curvature(x0: Any, data: tuple[Any, ...]) -> tuple[Any, Any, Any]:
        """Unconstrained point of x0, Hessian eigenvalues (floored) and eigenvectors."""
        u_dict = unconstrain_fn(model, data, {}, site_values(x0, data[6]))
        flat, unravel = ravel_pytree(u_dict)
        hess = jax.hessian(lambda f: potential_energy(model, data, {}, unravel(f)))(flat)
        hess = 0.5 * (hess + hess.T)
        lam, vec = jnp.linalg.eigh(hess)
        finite = jnp.all(jnp.isfinite(lam))
        floor = 1e-10 * jnp.max(jnp.abs(jnp.where(jnp.isfinite(lam), lam, 0.0))) + 1e-12
        lam = jnp.where(finite, jnp.maximum(lam, floor), 1.0)
        vec = jnp.where(finite, vec, jnp.eye(flat.size))
        return flat, lam, vec

    def prepare(x0: Any, data: tuple[Any, ...]) -> tuple[Any, Any, Any]:
        """kappa, unconstrained LSQ point and whitening matrix of one bin.

        kappa = -cov(baseline, contrast) / var(contrast) under the Laplace approximation
        at the least-squares point (sampling baseline itself there), clipped to [0, 1]
        (for g2 = baseline + contrast*F with 0 <= F <= 1 it is a weighted mean of F)."""
        kappa = jnp.zeros(())
        if pair is not None:
            _, lam0, vec0 = curvature(x0, (*data, kappa))
            cov0 = (vec0 / lam0[None, :]) @ vec0.T
            i_b, i_c = site_pos[OFFSET], site_pos[pair[1]]
            c0 = x0[names.index(pair[1])]
            k = -cov0[i_b, i_c] / (c0 * cov0[i_c, i_c])  # contrast sampled as log(contrast)
            kappa = jnp.where(jnp.isfinite(k), jnp.clip(k, 0.0, 1.0), 0.0)
        flat, lam, vec = curvature(x0, (*data, kappa))
        return kappa, flat, vec / jnp.sqrt(lam)[None, :]

    def potential_gen(t: Any, y: Any, sigma: Any, mask: Any, p_full: Any, loc: Any, kappa: Any,
                      u0: Any, white: Any) -> Any:
        data = (t, y, sigma, mask, p_full, loc, kappa)
        return lambda w: potential_energy(model, data, {}, unravel0(u0 + white @ w))

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")

    def init_one(key: Any, margs: tuple[Any, ...]) -> Any:
        w0 = jnp.zeros(margs[7].shape[0])
        return init_kernel(
            w0, cfg["warmup"], step_size=0.5, dense_mass=True,
            target_accept_prob=cfg["target_accept"], max_tree_depth=cfg["max_tree_depth"],
            model_args=margs, rng_key=key,
        )

    bin_axes = (None, 0, 0, 0, 0, 0, 0, 0, 0)

    def init_all(x0: Any, keys: Any, t: Any, y: Any, sigma: Any, mask: Any, p_full: Any, loc: Any) -> Any:
        kappa, u0, white = jax.vmap(prepare, in_axes=(0, (None, 0, 0, 0, 0, 0)))(
            x0, (t, y, sigma, mask, p_full, loc))
        margs = (t, y, sigma, mask, p_full, loc, kappa, u0, white)
        per_chain = jax.vmap(init_one, in_axes=(0, None))
        state = jax.vmap(per_chain, in_axes=(0, bin_axes))(keys, margs)
        return state._replace(i=state.i[0, 0]), kappa, u0, white

    def state_axes(state: Any, axis: Any) -> Any:
        return state._replace(**{f: (None if f == "i" else axis) for f in state._fields})

    def step_all(state: Any, margs: tuple[Any, ...]) -> Any:
        step = lambda s, a: sample_kernel(s, model_args=a)  # noqa: E731
        inner = jax.vmap(step, in_axes=(state_axes(state, 0), None), out_axes=state_axes(state, 0))
        outer = jax.vmap(inner, in_axes=(state_axes(state, 0), bin_axes), out_axes=state_axes(state, 0))
        return outer(state, margs)

    def record(state: Any) -> dict[str, Any]:
        return {"w": state.z, "diverging": state.diverging, "energy": state.energy,
                "n_steps": state.num_steps, "accept_prob": state.accept_prob,
                "potential": state.potential_energy}

    def run_chunk(state: Any, n: Any, margs: tuple[Any, ...]) -> tuple[Any, Any]:
        template = jax.eval_shape(lambda s: record(s), state)
        buf = jax.tree.map(lambda s: jnp.zeros((CHUNK, *s.shape), s.dtype), template)

        def body(k: Any, carry: Any) -> Any:
            st, b = carry
            st = step_all(st, margs)
            b = jax.tree.map(lambda arr, r: arr.at[k].set(r), b, record(st))
            return st, b

        return jax.lax.fori_loop(0, n, body, (state, buf))

    def constrain_one(w: Any, margs: tuple[Any, ...]) -> Any:
        t, y, sigma, mask, p_full, loc, kappa, u0, white = margs
        params = unravel0(u0 + white @ w)
        vals = constrain_fn(model, (t, y, sigma, mask, p_full, loc, kappa), {}, params, return_deterministic=True)
        return jnp.stack([vals[n] for n in names], axis=-1)

    def constrain_all(w: Any, margs: tuple[Any, ...]) -> Any:
        # w: (draws, bins, chains, k) -> (draws, bins, chains, n_names)
        per_chain = jax.vmap(constrain_one, in_axes=(0, None))
        per_bin = jax.vmap(per_chain, in_axes=(0, bin_axes))
        return jax.vmap(per_bin, in_axes=(0, None))(w, margs)

    return {
        "init": jax.jit(init_all),
        "chunk": jax.jit(run_chunk),
        "constrain": jax.jit(constrain_all),
        "names": names,
        "offset": pair is not None,
    }


def _dummy_args(problem: Any, n_t: int) -> tuple[Any, ...]:
    import jax.numpy as jnp

    n_free = len(problem.free)
    return (jnp.linspace(1.0, 2.0, n_t), jnp.ones(n_t), jnp.ones(n_t), jnp.ones(n_t, dtype=bool),
            jnp.asarray(problem.p0[0]), jnp.ones(n_free), jnp.zeros(()))


def _programs(problem: Any, cfg: dict[str, Any], n_t: int) -> dict[str, Any]:
    key = (id(problem.model), problem.model.name, problem.free, problem.sigma_known,
           n_t, cfg["warmup"], cfg["target_accept"], cfg["max_tree_depth"])
    if key not in _CACHE:
        _CACHE[key] = _build(problem, cfg, n_t)
    return _CACHE[key]


def sample_nuts(problem: Any, start: Any, settings: Any) -> Any:
    """Run NUTS for all bins of ``problem``; returns :class:`PosteriorDraws`."""
    from xpcs_jax.runtime import device, jax_module

    jax = jax_module()
    from xpcs_core.errors import XpcsCancelled
    from xpcs_core.kernels.posterior import prior_locations, start_values
    from xpcs_core.fitting.problem import PosteriorDraws

    cfg = settings.resolved(DEFAULTS)
    n_bins, chains = problem.n_bins, cfg["chains"]
    n_bins_to, n_t_to = step_bucket(n_bins, 4), step_bucket(problem.t.size, 16)
    progs = _programs(problem, cfg, n_t_to)
    names = progs["names"]
    dev = device()

    def put(a: Any) -> Any:
        return jax.device_put(np.asarray(a), dev)

    starts = start_values(problem, start)
    locs = prior_locations(problem, start)
    x0 = np.stack([starts[n] for n in names], axis=1)
    loc = np.stack([locs[n] for n in problem.free], axis=1)
    keys = jax.random.split(jax.random.PRNGKey(cfg["seed"]), n_bins * chains)
    keys = np.asarray(keys).reshape(n_bins, chains, *keys.shape[1:])
    t, arrs = padded(problem.t, {"y": problem.y, "sigma": problem.sigma, "mask": problem.mask,
                                 "p0": problem.p0, "loc": loc, "x0": x0, "keys": keys}, n_bins_to, n_t_to)
    data = [put(a) for a in (t, arrs["y"], arrs["sigma"], arrs["mask"], arrs["p0"], arrs["loc"])]
    state, kappa, u0, white = progs["init"](put(arrs["x0"]), put(arrs["keys"]), *data)
    margs = (*data, kappa, u0, white)

    total = cfg["warmup"] + cfg["draws"]
    done = 0
    chunks: list[dict[str, np.ndarray]] = []
    while done < total:
        if settings.cancel is not None and settings.cancel.is_set():
            raise XpcsCancelled(f"posterior sampling cancelled after {done} of {total} iterations")
        n = min(CHUNK, total - done)
        # keep only the sampling-phase part of a chunk that straddles the end of warm-up
        state, buf = progs["chunk"](state, n, margs)
        first = max(cfg["warmup"] - done, 0)
        if first < n:
            # statistics of the real bins; draws of all (the constrain program has the padded shape)
            chunks.append({k: np.asarray(v[first:n, :n_bins]) for k, v in buf.items()} | {"_w": buf["w"][first:n]})
        done += n
        if settings.progress is not None:
            settings.progress(done, total)

    import jax.numpy as jnp

    w = jnp.concatenate([c.pop("_w") for c in chunks], axis=0)
    values = np.asarray(progs["constrain"](w, margs))[:, :n_bins]  # (draws, bins, chains, n_names)
    draws = {n: np.ascontiguousarray(np.transpose(values[..., i], (2, 0, 1))) for i, n in enumerate(names)}
    stats = {}
    for k in ("diverging", "energy", "n_steps", "accept_prob", "potential"):
        arr = np.concatenate([c[k] for c in chunks], axis=0)  # (draws, bins, chains)
        stats[k] = np.ascontiguousarray(np.transpose(arr, (2, 0, 1)))
    stats["lp"] = -stats.pop("potential")
    return PosteriorDraws(
        draws=draws, sample_stats=stats, sampler="nuts",
        settings={**cfg, "dense_mass": True, "whitened": "laplace at least-squares point",
                  **({"offset": "baseline + kappa*contrast sampled in place of baseline"}
                     if progs["offset"] else {})},
    )


@hookimpl
def xpcs_sample_posterior(problem: Any, start: Any, settings: Any) -> Any:
    """NUTS for all bins and chains in one compiled program."""
    return sample_nuts(problem, start, settings)

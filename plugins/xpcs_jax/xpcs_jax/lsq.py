"""g2 least squares on JAX: one compiled, vmapped optimistix solve for all q-bins.

The bounded problem is the shared change of variables of
:mod:`xpcs_core.kernels.lsq`, solved per bin by optimistix's Gauss-Newton machinery
with Marquardt-scaled damping (:mod:`xpcs_jax._marquardt`), vmapped over bins and
compiled once per model layout and array shapes.

jax and optimistix are imported inside the hookimpl only.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_jax._buckets import padded, power_bucket

__all__ = ["xpcs_fit_lsq"]

LSQ_RTOL = 1e-11
LSQ_ATOL = 1e-11
LSQ_MAX_STEPS = 400

@functools.cache
def _lsq_program(layout: Any, sigma_known: bool) -> Any:
    """The jitted solver for one model layout (compiled once per layout and shapes)."""
    from xpcs_jax.runtime import jax_module

    jax = jax_module()
    import jax.numpy as jnp
    import optimistix as optx

    from xpcs_core.kernels.lsq import finish, to_natural, weighted_residuals
    from xpcs_jax._marquardt import MarquardtLevenberg

    solver = MarquardtLevenberg(rtol=LSQ_RTOL, atol=LSQ_ATOL)

    def residual(u: Any, args: tuple[Any, ...]) -> Any:
        t, y, sigma, mask, p_full, lo, hi, is_log = args
        x = to_natural(jnp, u, lo, hi, is_log)
        return weighted_residuals(jnp, layout, t, y, sigma, mask, x, p_full)

    def one(u0: Any, y: Any, sigma: Any, mask: Any, p_full: Any, lo: Any, hi: Any,
            is_log: Any, t: Any) -> tuple[Any, Any, Any, Any]:
        sol = optx.least_squares(
            residual, solver, u0, args=(t, y, sigma, mask, p_full, lo, hi, is_log),
            max_steps=LSQ_MAX_STEPS, throw=False,
        )
        ok = sol.result == optx.RESULTS.successful
        maxed = sol.result == optx.RESULTS.max_steps_reached
        return sol.value, ok, maxed, sol.stats["num_steps"]

    def run(u0: Any, arrs: dict[str, Any]) -> tuple[Any, ...]:
        u, ok, maxed, steps = jax.vmap(one, in_axes=(0, 0, 0, 0, 0, 0, 0, 0, None))(
            u0, arrs["y"], arrs["sigma"], arrs["mask"], arrs["p_full"], arrs["lo"],
            arrs["hi"], arrs["is_log"], arrs["t"],
        )
        x = to_natural(jnp, u, arrs["lo"], arrs["hi"], arrs["is_log"])
        return finish(jnp, arrs, layout, x, sigma_known), ok, maxed, steps

    return jax.jit(run)


def bucketed(arrs: dict[str, np.ndarray], u0: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Bins padded to a power of two (at least 8), delays to one (at least 16): see
    :mod:`xpcs_jax._buckets`."""
    n_bins, n_t = arrs["y"].shape
    per_bin = {k: v for k, v in arrs.items() if k != "t"} | {"u0": u0}
    t, out = padded(arrs["t"], per_bin, power_bucket(n_bins, 8), power_bucket(n_t, 16))
    u0 = out.pop("u0")
    return {**out, "t": t}, u0


def _key(layout: Any, sigma_known: bool) -> str:
    """What the traced program depends on besides the argument shapes."""
    from xpcs_jax._export import code_digest

    mdl = layout.model
    return "|".join((mdl.name, repr(mdl.params), repr(sorted(mdl.log_scale)), repr(layout.free),
                     repr(layout.log), str(sigma_known), repr((LSQ_RTOL, LSQ_ATOL, LSQ_MAX_STEPS)),
                     code_digest(__name__, "xpcs_core.kernels.lsq", "xpcs_jax._marquardt", mdl.fn, mdl.jac)))


@hookimpl
def xpcs_fit_lsq(problem: Any) -> Any:
    """Levenberg-Marquardt (optimistix) vmapped over bins, compiled once per shape."""
    from xpcs_jax.runtime import device, jax_module

    jax = jax_module()
    from xpcs_core.kernels.lsq import Layout, problem_arrays, start_internal
    from xpcs_core.fitting.problem import LsqSolution

    layout = Layout.of(problem)
    dev = device()

    def put(a: Any) -> Any:
        return jax.device_put(np.asarray(a), dev)

    arrs, u0 = bucketed(problem_arrays(np, problem, to_device=np.asarray), start_internal(problem))
    args = (put(u0), {k: put(v) for k, v in arrs.items()})
    from xpcs_jax._export import program

    run = program("lsq", lambda: _lsq_program(layout, problem.sigma_known), _key(layout, problem.sigma_known), args)
    out, ok, maxed, steps = run(*args)
    n = problem.n_bins
    out = {k: np.asarray(v)[:n] for k, v in out.items()}
    ok, maxed, steps = np.asarray(ok)[:n], np.asarray(maxed)[:n], np.asarray(steps)[:n]
    finite = np.all(np.isfinite(out["params"]), axis=1) & np.isfinite(out["chi2"])
    message = [
        "non-finite result" if not f else
        "converged" if o else
        f"did not converge in {LSQ_MAX_STEPS} steps" if m else "solver failed"
        for o, m, f in zip(ok, maxed, finite)
    ]
    return LsqSolution(
        params=out["params"], errors=out["errors"], cov=out["cov"], chi2=out["chi2"],
        success=ok & finite, message=message, n_iter=steps.astype(np.int64),
    )

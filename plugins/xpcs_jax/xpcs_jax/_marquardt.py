"""A Marquardt-scaled Levenberg-Marquardt solver built from optimistix parts.

``optimistix.LevenbergMarquardt`` damps with ``lambda*I``. With bounds handled by a
saturating change of variables, a parameter whose optimum lies on a bound has a
vanishing Jacobian column, and identity damping then creeps towards the bound by
gradient-descent steps (hundreds of iterations). Marquardt's scaling,
``lambda*diag(J^T J)``, makes the step invariant to the scale of each parameter, so the
variable saturates in a few steps, as with the NumPy reference solver. Everything
else (trust-region update, Cauchy termination, vmap) is optimistix's.

Import only inside functions: importing this module imports jax.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import optimistix as optx


def _zeros_like_struct(struct: Any) -> Any:
    def fill(x: Any) -> Any:
        if isinstance(x, jax.ShapeDtypeStruct) or eqx.is_array(x):
            return jnp.zeros(x.shape, x.dtype)
        return x

    return jax.tree.map(fill, struct, is_leaf=lambda x: isinstance(x, jax.ShapeDtypeStruct))


class _ScaledDamped(eqx.Module):
    operator: lx.AbstractLinearOperator
    damping: Any
    scale: Any

    def __call__(self, y: Any) -> tuple[Any, Any]:
        return self.operator.mv(y), jnp.sqrt(self.damping) * self.scale * y


class _State(eqx.Module):
    f_info: Any


class MarquardtDescent(optx.AbstractDescent):
    """Damped Gauss-Newton step ``(J^T J + lambda*diag(J^T J)) d = -J^T r``."""

    linear_solver: lx.AbstractLinearSolver = lx.QR()

    def init(self, y: Any, f_info_struct: Any) -> _State:
        return _State(_zeros_like_struct(f_info_struct))

    def query(self, y: Any, f_info: Any, state: _State) -> _State:
        return _State(f_info)

    def step(self, step_size: Any, state: _State) -> tuple[Any, Any]:
        f_info = state.f_info
        pred = step_size > jnp.finfo(step_size.dtype).eps
        lm_param = jnp.where(pred, 1.0 / jnp.where(pred, step_size, 1.0), jnp.finfo(step_size.dtype).max)
        jac = f_info.jac
        col = jnp.sqrt(jnp.sum(jac.as_matrix() ** 2, axis=0))
        scale = jnp.maximum(col, 1e-12 * jnp.max(col) + 1e-300)
        structure = jac.in_structure()
        operator = lx.FunctionLinearOperator(_ScaledDamped(jac, lm_param, scale), structure)
        vector = (f_info.residual, jnp.zeros(structure.shape, structure.dtype))
        sol = lx.linear_solve(operator, vector, self.linear_solver, throw=False)
        return -sol.value, optx.RESULTS.promote(sol.result)


def _quiet(**kwargs: Any) -> None:
    return None


class MarquardtLevenberg(optx.AbstractGaussNewton):
    """Levenberg-Marquardt with Marquardt's diagonal scaling (one flat parameter array)."""

    rtol: float
    atol: float
    norm: Callable[[Any], Any]
    descent: MarquardtDescent
    search: optx.ClassicalTrustRegion
    verbose: Callable[..., None]

    def __init__(self, rtol: float, atol: float, norm: Callable[[Any], Any] = optx.max_norm) -> None:
        self.rtol = rtol
        self.atol = atol
        self.norm = norm
        self.descent = MarquardtDescent()
        self.search = optx.ClassicalTrustRegion()
        self.verbose = _quiet

"""Batched least squares, written once against an Array-API namespace ``xp``.

Every bin has its own parameters; nothing couples bins, so all bins are solved at
once with arrays of shape (n_bins, ...). Bounds are handled by a change of variables
shared by all backends (so they solve the same unconstrained problem):

* time parameters (``model.log_scale``) are first taken as logarithms;
* then a parameter with two finite bounds is ``lo + (hi - lo)*sigmoid(u)``, with one
  bound ``lo + exp(u)`` / ``hi - exp(u)``, with none ``u``.

A parameter whose optimum lies on a bound drives ``u`` to saturation, where float64
returns the bound itself. Errors come from the Jacobian in the natural parameters,
as ``scipy.optimize.curve_fit(absolute_sigma=True)`` computes them.

:func:`solve_lm` is a vectorised Levenberg-Marquardt (Marquardt scaling, Nielsen's
damping update) with a per-bin convergence test; the numpy (and any Array-API)
backend uses it, the jax backend solves the same problem with optimistix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from xpcs_core.fitting.models import G2Model
from xpcs_core.fitting.problem import FitProblem, LsqSolution


@dataclass(frozen=True)
class Layout:
    """Static description of which parameters are free and how they are transformed."""

    model: G2Model
    free: tuple[int, ...]
    log: tuple[bool, ...]

    @classmethod
    def of(cls, problem: FitProblem) -> Layout:
        idx = tuple(int(i) for i in problem.free_index)
        mdl = problem.model
        return cls(mdl, idx, tuple(mdl.params[i] in mdl.log_scale for i in idx))

    @property
    def names(self) -> tuple[str, ...]:
        return self.model.params

    def params(self, xp: Any, x_free: Any, p_full: Any) -> dict[str, Any]:
        """Parameter dict for ``model.fn``: each value (..., 1), broadcasting against t.

        ``x_free`` (..., n_free) natural values of the free parameters; ``p_full``
        (..., n_params) supplies the fixed ones.
        """
        out = {}
        k = 0
        for j, name in enumerate(self.names):
            if j in self.free:
                out[name] = x_free[..., k, None]
                k += 1
            else:
                out[name] = p_full[..., j, None]
        return out


# ---------------------------------------------------------------- variable change
def _bounds_internal(xp: Any, lo: Any, hi: Any, is_log: Any) -> tuple[Any, Any]:
    """Bounds in the (possibly logarithmic) intermediate variable."""
    a = xp.where(is_log, xp.log(xp.where(lo > 0, lo, 1.0)), lo)
    a = xp.where(is_log & (lo <= 0), -xp.inf, a)
    b = xp.where(is_log, xp.log(xp.where(hi > 0, hi, 1.0)), hi)
    return a, b


def _sigmoid(xp: Any, u: Any) -> Any:
    e = xp.exp(-xp.abs(u))
    return xp.where(u >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def to_natural(xp: Any, u: Any, lo: Any, hi: Any, is_log: Any) -> Any:
    """Natural parameter values from internal ones (all (..., n_free))."""
    a, b = _bounds_internal(xp, lo, hi, is_log)
    fa, fb = xp.isfinite(a), xp.isfinite(b)
    a0 = xp.where(fa, a, 0.0)
    b0 = xp.where(fb, b, 0.0)
    ex = xp.exp(xp.where(fa ^ fb, u, 0.0))
    v = xp.where(
        fa & fb,
        a0 + (b0 - a0) * _sigmoid(xp, u),
        xp.where(fa, a0 + ex, xp.where(fb, b0 - ex, u)),
    )
    return xp.where(is_log, xp.exp(v), v)


def dnatural_du(xp: Any, u: Any, lo: Any, hi: Any, is_log: Any) -> Any:
    """Derivative of :func:`to_natural` with respect to ``u`` (elementwise)."""
    a, b = _bounds_internal(xp, lo, hi, is_log)
    fa, fb = xp.isfinite(a), xp.isfinite(b)
    a0 = xp.where(fa, a, 0.0)
    b0 = xp.where(fb, b, 0.0)
    s = _sigmoid(xp, u)
    ex = xp.exp(xp.where(fa ^ fb, u, 0.0))
    dv = xp.where(fa & fb, (b0 - a0) * s * (1.0 - s), xp.where(fa, ex, xp.where(fb, -ex, 1.0)))
    x = to_natural(xp, u, lo, hi, is_log)
    return xp.where(is_log, x * dv, dv)


class Transform:
    """:func:`to_natural` with the bounds prepared once (for iterative solvers)."""

    def __init__(self, xp: Any, lo: Any, hi: Any, is_log: Any) -> None:
        a, b = _bounds_internal(xp, lo, hi, is_log)
        self.xp = xp
        self.is_log = is_log
        self.both = xp.isfinite(a) & xp.isfinite(b)
        self.only_lo = xp.isfinite(a) & ~self.both
        self.only_hi = xp.isfinite(b) & ~self.both
        self.a0 = xp.where(xp.isfinite(a), a, 0.0)
        self.b0 = xp.where(xp.isfinite(b), b, 0.0)
        self.span = self.b0 - self.a0

    def natural_and_derivative(self, u: Any) -> tuple[Any, Any]:
        """Natural values and d(natural)/du, elementwise."""
        xp = self.xp
        s = _sigmoid(xp, u)
        ex = xp.exp(xp.where(self.only_lo | self.only_hi, u, 0.0))
        v = xp.where(self.both, self.a0 + self.span * s,
                     xp.where(self.only_lo, self.a0 + ex, xp.where(self.only_hi, self.b0 - ex, u)))
        dv = xp.where(self.both, self.span * s * (1.0 - s),
                      xp.where(self.only_lo, ex, xp.where(self.only_hi, -ex, 1.0)))
        ev = xp.exp(xp.where(self.is_log, v, 0.0))
        return xp.where(self.is_log, ev, v), xp.where(self.is_log, ev * dv, dv)


def to_internal(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, is_log: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_natural` (NumPy; for starting values strictly inside the bounds)."""
    x = np.asarray(x, dtype=np.float64)
    is_log = np.broadcast_to(np.asarray(is_log, dtype=bool), x.shape)
    a, b = _bounds_internal(np, lo, hi, is_log)
    v = np.where(is_log, np.log(np.where(x > 0, x, 1e-300)), x)
    fa, fb = np.isfinite(a), np.isfinite(b)
    with np.errstate(all="ignore"):
        z = np.clip((v - a) / (b - a), 1e-15, 1.0 - 1e-15)
        both = np.log(z) - np.log1p(-z)
        lower = np.log(np.maximum(v - a, 1e-300))
        upper = np.log(np.maximum(b - v, 1e-300))
    return np.where(fa & fb, both, np.where(fa, lower, np.where(fb, upper, v)))


# ----------------------------------------------------------------- residuals etc.
def weighted_residuals(xp: Any, layout: Layout, t: Any, y: Any, sigma: Any, mask: Any,
                       x_free: Any, p_full: Any) -> Any:
    """(model - y)/sigma, zero where ``mask`` is False; shape (..., n_t)."""
    mu = layout.model.fn(xp, t, layout.params(xp, x_free, p_full))
    return xp.where(mask, (mu - y) / sigma, 0.0)


def jacobian_natural(xp: Any, layout: Layout, t: Any, sigma: Any, mask: Any,
                     x_free: Any, p_full: Any) -> Any:
    """d(residual)/d(free natural params): (..., n_t, n_free).

    Analytic when the model has ``jac``, else central finite differences.
    """
    model = layout.model
    if model.jac is not None:
        d = model.jac(xp, t, layout.params(xp, x_free, p_full))
        cols = [xp.broadcast_to(d[layout.names[j]], mask.shape) for j in layout.free]
    else:
        cols = []
        n_free = len(layout.free)
        for k in range(n_free):
            h = 6e-6 * xp.maximum(xp.abs(x_free[..., k]), 1e-8)
            onehot = xp.asarray([1.0 if i == k else 0.0 for i in range(n_free)], dtype=x_free.dtype)
            step = h[..., None] * onehot
            up = model.fn(xp, t, layout.params(xp, x_free + step, p_full))
            dn = model.fn(xp, t, layout.params(xp, x_free - step, p_full))
            cols.append((up - dn) / (2.0 * h[..., None]))
    jac = xp.stack(cols, axis=-1)
    return xp.where(mask[..., None], jac / sigma[..., None], 0.0)


def _solve(xp: Any, lhs: Any, g: Any) -> Any:
    """``lhs⁻¹ g`` per bin. A singular or non-finite system (one bad bin: tiny errors,
    overflow) gets a zero step there, so the other bins are not taken down with it."""
    ok = xp.all(xp.isfinite(lhs), axis=(-2, -1)) & xp.all(xp.isfinite(g), axis=-1)
    eye = xp.eye(lhs.shape[-1], dtype=lhs.dtype)
    safe = xp.where(ok[:, None, None], lhs, eye)
    try:
        step = xp.linalg.solve(safe, g[..., None])[..., 0]
    except np.linalg.LinAlgError:  # NumPy raises for the whole batch; solve bin by bin
        rows = []
        for k in range(safe.shape[0]):
            try:
                rows.append(np.linalg.solve(safe[k], g[k]))
            except np.linalg.LinAlgError:
                rows.append(np.zeros(safe.shape[-1]))
        step = xp.asarray(np.stack(rows))
    return xp.where(ok[:, None], step, 0.0)


def covariance(xp: Any, jac: Any, n_points: Any) -> Any:
    """``curve_fit``'s covariance ``pinv(J^T J)`` via the SVD of ``J`` (..., n_t, n_free).

    Singular values below ``eps*max(n_points, n_free)*s_max`` are dropped, as scipy does.
    A bin whose Jacobian is not finite gets a NaN covariance (and is flagged).
    """
    finite = xp.all(xp.isfinite(jac), axis=(-2, -1))
    jac = xp.where(finite[..., None, None], jac, 0.0)
    _, s, vt = xp.linalg.svd(jac, full_matrices=False)
    n_free = jac.shape[-1]
    eps = float(np.finfo(np.float64).eps)
    thresh = eps * xp.maximum(xp.astype(n_points, jac.dtype), float(n_free))[..., None] * s[..., :1]
    keep = s > thresh
    inv_s2 = xp.where(keep, 1.0 / xp.where(keep, s, 1.0) ** 2, 0.0)
    cov = xp.matmul(xp.matrix_transpose(vt) * inv_s2[..., None, :], vt)
    return xp.where(finite[..., None, None], cov, xp.nan)


def canonical_order(xp: Any, layout: Layout, x_free: Any) -> Any:
    """Put ordered pairs in order (double: tau1 < tau2, swapping ``fraction`` too).

    Only done when both times and ``fraction`` are free, where the swap leaves g2 equal.
    """
    model = layout.model
    names = [layout.names[j] for j in layout.free]
    if model.name != "double" or not {"tau1", "tau2", "fraction"} <= set(names):
        return x_free
    i1, i2, i_f = names.index("tau1"), names.index("tau2"), names.index("fraction")
    t1, t2, f = x_free[..., i1], x_free[..., i2], x_free[..., i_f]
    swap = t1 > t2
    cols = []
    for k in range(len(names)):
        c = x_free[..., k]
        if k == i1:
            c = xp.where(swap, t2, t1)
        elif k == i2:
            c = xp.where(swap, t1, t2)
        elif k == i_f:
            c = xp.where(swap, 1.0 - f, f)
        cols.append(c)
    return xp.stack(cols, axis=-1)


def finish(xp: Any, problem_arrays: dict[str, Any], layout: Layout, x_free: Any,
           sigma_known: bool) -> dict[str, Any]:
    """chi2, covariance and errors at the solution ``x_free`` (..., n_free).

    ``problem_arrays`` holds ``t``, ``y``, ``sigma``, ``mask``, ``p_full`` on the
    backend's device. Returns arrays of the backend ``params`` (..., n_params),
    ``errors``, ``cov``, ``chi2``.
    """
    t, y, sigma, mask, p_full = (problem_arrays[k] for k in ("t", "y", "sigma", "mask", "p_full"))
    x_free = canonical_order(xp, layout, x_free)
    r = weighted_residuals(xp, layout, t, y, sigma, mask, x_free, p_full)
    chi2 = xp.sum(r * r, axis=-1)
    jac = jacobian_natural(xp, layout, t, sigma, mask, x_free, p_full)
    n_points = xp.sum(xp.astype(mask, xp.int64), axis=-1)
    cov = covariance(xp, jac, n_points)
    if not sigma_known:
        dof = xp.maximum(n_points - len(layout.free), 1)
        cov = cov * (chi2 / xp.astype(dof, chi2.dtype))[..., None, None]
    var = xp.stack([cov[..., k, k] for k in range(len(layout.free))], axis=-1)
    err_free = xp.sqrt(xp.maximum(var, 0.0))
    cols_p, cols_e = [], []
    k = 0
    for j in range(len(layout.names)):
        if j in layout.free:
            cols_p.append(x_free[..., k])
            cols_e.append(err_free[..., k])
            k += 1
        else:
            cols_p.append(p_full[..., j])
            cols_e.append(xp.full_like(p_full[..., j], xp.nan))
    return {"params": xp.stack(cols_p, axis=-1), "errors": xp.stack(cols_e, axis=-1),
            "cov": cov, "chi2": chi2}


# ---------------------------------------------------------------- the LM solver
@dataclass(frozen=True)
class LmOptions:
    """Tolerances of :func:`solve_lm` (per bin, in internal variables)."""

    max_iter: int = 200
    xtol: float = 1e-9
    ftol: float = 1e-13
    gtol: float = 1e-12


def problem_arrays(xp: Any, problem: FitProblem, to_device: Any = None) -> dict[str, Any]:
    """The problem's arrays on a device (``to_device`` defaults to ``xp.asarray``)."""
    conv = to_device or xp.asarray
    layout = Layout.of(problem)
    idx = list(layout.free)
    return {
        "t": conv(problem.t), "y": conv(problem.y), "sigma": conv(problem.sigma),
        "mask": conv(problem.mask), "p_full": conv(problem.p0),
        "lo": conv(problem.lower[:, idx]), "hi": conv(problem.upper[:, idx]),
        "is_log": conv(np.broadcast_to(np.array(layout.log, dtype=bool), (problem.n_bins, len(idx)))),
    }


def start_internal(problem: FitProblem) -> np.ndarray:
    """Starting values of the free parameters in internal variables (n_bins, n_free)."""
    layout = Layout.of(problem)
    idx = list(layout.free)
    return to_internal(problem.p0[:, idx], problem.lower[:, idx], problem.upper[:, idx],
                       np.array(layout.log, dtype=bool))


def solve_lm(xp: Any, problem: FitProblem, options: LmOptions = LmOptions(),
             to_device: Any = None, to_numpy: Any = np.asarray) -> LsqSolution:
    """Solve all bins of ``problem`` with a vectorised Levenberg-Marquardt in ``xp``."""
    layout = Layout.of(problem)
    arr = problem_arrays(xp, problem, to_device)
    t, y, sigma, mask, p_full = (arr[k] for k in ("t", "y", "sigma", "mask", "p_full"))
    lo, hi, is_log = arr["lo"], arr["hi"], arr["is_log"]
    conv = to_device or xp.asarray
    u = conv(start_internal(problem))
    n_bins, n_free = problem.n_bins, len(layout.free)
    eye = xp.eye(n_free, dtype=u.dtype)

    transform = Transform(xp, lo, hi, is_log)

    def cost_of(u_: Any) -> Any:
        x, dx = transform.natural_and_derivative(u_)
        r = weighted_residuals(xp, layout, t, y, sigma, mask, x, p_full)
        return 0.5 * xp.sum(r * r, axis=-1), r, x, dx

    cost, r, x, dx = cost_of(u)
    lam = xp.full((n_bins,), 1e-3, dtype=u.dtype)
    nu = xp.full((n_bins,), 2.0, dtype=u.dtype)
    done = ~xp.isfinite(cost)
    status = xp.where(done, -1, 0)  # 0 running, 1 xtol, 2 ftol, 3 gtol, 4 no reduction, -1 bad start
    n_iter = xp.zeros((n_bins,), dtype=xp.int64)
    for _ in range(options.max_iter):
        jx = jacobian_natural(xp, layout, t, sigma, mask, x, p_full)
        ju = jx * dx[..., None, :]
        jt = xp.matrix_transpose(ju)
        a = xp.matmul(jt, ju)
        g = xp.matmul(jt, r[..., None])[..., 0]
        gnorm = xp.max(xp.abs(g), axis=-1)
        small_g = gnorm <= options.gtol * (1.0 + cost)
        status = xp.where(~done & small_g, 3, status)
        done = done | small_g
        diag = xp.stack([a[..., k, k] for k in range(n_free)], axis=-1)
        dscale = xp.maximum(diag, 1e-12 * xp.max(diag, axis=-1, keepdims=True) + 1e-300)
        lhs = a + lam[:, None, None] * dscale[..., None] * eye
        step = -_solve(xp, lhs, g)
        step = xp.where(xp.isfinite(step), step, 0.0)
        u_new = u + step
        cost_new, r_new, x_new, dx_new = cost_of(u_new)
        pred = -(xp.sum(g * step, axis=-1)
                 + 0.5 * xp.sum(step * xp.matmul(a, step[..., None])[..., 0], axis=-1))
        actual = cost - cost_new
        rho = xp.where(pred > 0, actual / xp.where(pred > 0, pred, 1.0), -1.0)
        accept = ~done & xp.isfinite(cost_new) & (actual > 0) & (rho > 0)
        # convergence tests on accepted steps
        rel_step = xp.max(xp.abs(step) / (xp.abs(u) + options.xtol), axis=-1)
        x_conv = accept & (rel_step <= options.xtol)
        f_conv = accept & (actual <= options.ftol * cost) & (pred <= options.ftol * cost)
        u = xp.where(accept[:, None], u_new, u)
        x = xp.where(accept[:, None], x_new, x)
        dx = xp.where(accept[:, None], dx_new, dx)
        r = xp.where(accept[:, None], r_new, r)
        cost = xp.where(accept, cost_new, cost)
        factor = xp.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
        lam = xp.where(accept, lam * factor, xp.where(done, lam, lam * nu))
        nu = xp.where(accept, 2.0, xp.where(done, nu, nu * 2.0))
        stalled = ~done & ~accept & (lam > 1e16)
        n_iter = n_iter + xp.astype(~done, xp.int64)
        status = xp.where(~done & x_conv, 1, status)
        status = xp.where(~done & ~x_conv & f_conv, 2, status)
        status = xp.where(stalled, 4, status)
        done = done | x_conv | f_conv | stalled
        if bool(xp.all(done)):
            break
    out = finish(xp, arr, layout, x, problem.sigma_known)
    status_np = np.asarray(to_numpy(status))
    n_iter_np = np.asarray(to_numpy(n_iter))
    params = np.asarray(to_numpy(out["params"]))
    finite = np.all(np.isfinite(params), axis=1) & np.isfinite(np.asarray(to_numpy(out["chi2"])))
    messages = {
        0: f"did not converge in {options.max_iter} iterations",
        1: "converged (parameter change below xtol)",
        2: "converged (chi2 change below ftol)",
        3: "converged (gradient below gtol)",
        4: "converged (no further reduction possible)",
        -1: "model is not finite at the starting values",
    }
    success = finite & (status_np > 0)
    message = [messages[int(s)] if f else "non-finite result" for s, f in zip(status_np, finite)]
    return LsqSolution(
        params=params,
        errors=np.asarray(to_numpy(out["errors"])),
        cov=np.asarray(to_numpy(out["cov"])),
        chi2=np.asarray(to_numpy(out["chi2"])),
        success=success,
        message=message,
        n_iter=n_iter_np,
    )

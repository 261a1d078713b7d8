"""g2 models, written once against an Array-API namespace ``xp`` (numpy, jax.numpy, cupy).

A model is a :class:`G2Model`: parameter names, the function ``fn(xp, t, p)`` (``p`` maps
each name to an array that broadcasts against ``t``), optionally its analytic partial
derivatives ``jac(xp, t, p)``, default bounds, priors and a starting-value rule. The
built-in models are those of docs/physics.md (APS convention)::

    single:    baseline + contrast*exp(-2 t/tau)
    stretched: baseline + contrast*exp(-2 (t/tau)^beta)
    double:    baseline + contrast*(fraction*exp(-t/tau1) + (1-fraction)*exp(-t/tau2))^2

:func:`register_model` adds a model (a plugin or a user may do so).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsInputError

Params = Mapping[str, Any]
ModelFn = Callable[[Any, Any, Params], Any]
JacFn = Callable[[Any, Any, Params], dict[str, Any]]
BoundsFn = Callable[[float, float], dict[str, tuple[float, float]]]
GuessFn = Callable[[np.ndarray, np.ndarray, np.ndarray], dict[str, np.ndarray]]


@dataclass(frozen=True)
class Prior:
    """A prior of one parameter (docs/physics.md "Bayesian fit").

    ``family`` is ``"normal"`` (loc, scale), ``"halfnormal"`` (scale), ``"lognormal"``
    (loc, scale; ``loc=None`` means ``log`` of the least-squares value) or ``"beta"``
    (a, b). ``support`` is the (low, high) interval of the parameter, which also
    truncates the prior (beta: ``(0, 2)``).
    """

    family: str
    args: tuple[float | None, ...]
    support: tuple[float, float] = (-math.inf, math.inf)

    def resolved_args(self, lsq_value: Any, log: Callable[[Any], Any] = np.log) -> tuple[Any, ...]:
        """Arguments with ``None`` (loc of a lognormal) replaced by ``log(lsq_value)``."""
        if self.family == "lognormal" and self.args[0] is None:
            return (log(lsq_value), self.args[1])
        return self.args


# docs/physics.md priors, by parameter name
PRIOR_BASELINE = Prior("normal", (1.0, 0.1))
PRIOR_CONTRAST = Prior("halfnormal", (1.0,), (0.0, math.inf))
PRIOR_TAU = Prior("lognormal", (None, 2.0), (0.0, math.inf))
PRIOR_BETA = Prior("lognormal", (0.0, 0.5), (0.0, 2.0))
PRIOR_FRACTION = Prior("beta", (2.0, 2.0), (0.0, 1.0))
PRIOR_NOISE = Prior("halfnormal", (0.1,), (0.0, math.inf))
"""Prior of the noise scale, used only when a problem has no g2 errors."""

DEFAULT_PRIORS: dict[str, Prior] = {
    "baseline": PRIOR_BASELINE,
    "contrast": PRIOR_CONTRAST,
    "tau": PRIOR_TAU,
    "tau1": PRIOR_TAU,
    "tau2": PRIOR_TAU,
    "beta": PRIOR_BETA,
    "fraction": PRIOR_FRACTION,
}


@dataclass(frozen=True, eq=False)
class G2Model:
    """A g2(t) model usable by every backend (compared and hashed by identity: one object per registered model).

    ``log_scale`` names parameters (times) that the solvers handle as logarithms;
    ``ordered`` holds pairs ``(a, b)`` constrained to ``a < b`` (tau1 < tau2).
    ``jac`` is optional: without it, backends differentiate ``fn`` (jax) or use finite
    differences (numpy).
    """

    name: str
    params: tuple[str, ...]
    fn: ModelFn
    bounds: BoundsFn
    guess: GuessFn
    jac: JacFn | None = None
    priors: Mapping[str, Prior] = field(default_factory=dict)
    log_scale: frozenset[str] = frozenset()
    ordered: tuple[tuple[str, str], ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        missing = [p for p in self.params if p not in self.priors]
        if missing:
            raise XpcsInputError(f"model {self.name!r}: no prior for parameter(s) {', '.join(missing)}")
        for a, b in self.ordered:
            if a not in self.params or b not in self.params:
                raise XpcsInputError(f"model {self.name!r}: ordered pair ({a}, {b}) names unknown parameters")

    def __call__(self, xp: Any, t: Any, p: Params) -> Any:
        return self.fn(xp, t, p)

    def index(self, name: str) -> int:
        try:
            return self.params.index(name)
        except ValueError:
            raise XpcsInputError(
                f"model {self.name!r} has no parameter {name!r}; its parameters: {', '.join(self.params)}"
            ) from None


# ------------------------------------------------------------------ built-in models
def _single(xp: Any, t: Any, p: Params) -> Any:
    return p["baseline"] + p["contrast"] * xp.exp(-2.0 * t / p["tau"])


def _single_jac(xp: Any, t: Any, p: Params) -> dict[str, Any]:
    e = xp.exp(-2.0 * t / p["tau"])
    return {
        "baseline": xp.ones_like(e),
        "contrast": e,
        "tau": p["contrast"] * e * 2.0 * t / p["tau"] ** 2,
    }


def _stretched(xp: Any, t: Any, p: Params) -> Any:
    return p["baseline"] + p["contrast"] * xp.exp(-2.0 * (t / p["tau"]) ** p["beta"])


def _stretched_jac(xp: Any, t: Any, p: Params) -> dict[str, Any]:
    x = t / p["tau"]
    s = x ** p["beta"]
    e = xp.exp(-2.0 * s)
    safe_x = xp.where(x > 0, x, 1.0)
    return {
        "baseline": xp.ones_like(e),
        "contrast": e,
        "tau": p["contrast"] * e * 2.0 * p["beta"] * s / p["tau"],
        "beta": xp.where(x > 0, -2.0 * p["contrast"] * e * s * xp.log(safe_x), 0.0),
    }


def _double(xp: Any, t: Any, p: Params) -> Any:
    f = p["fraction"]
    m = f * xp.exp(-t / p["tau1"]) + (1.0 - f) * xp.exp(-t / p["tau2"])
    return p["baseline"] + p["contrast"] * m * m


def _double_jac(xp: Any, t: Any, p: Params) -> dict[str, Any]:
    f, c = p["fraction"], p["contrast"]
    e1 = xp.exp(-t / p["tau1"])
    e2 = xp.exp(-t / p["tau2"])
    m = f * e1 + (1.0 - f) * e2
    return {
        "baseline": xp.ones_like(m),
        "contrast": m * m,
        "tau1": 2.0 * c * m * f * e1 * t / p["tau1"] ** 2,
        "tau2": 2.0 * c * m * (1.0 - f) * e2 * t / p["tau2"] ** 2,
        "fraction": 2.0 * c * m * (e1 - e2),
    }


def default_bounds(t_min: float, t_max: float) -> dict[str, tuple[float, float]]:
    """docs/physics.md default bounds for the given delay range (seconds)."""
    tau = (t_min / 20.0, t_max * 10.0)
    return {
        "baseline": (0.9, 1.1),
        "contrast": (0.01, 1.0),
        "tau": tau,
        "tau1": tau,
        "tau2": tau,
        "beta": (0.3, 2.0),
        "fraction": (0.0, 1.0),
    }


def _first_valid(y: np.ndarray, mask: np.ndarray, n: int, last: bool = False) -> np.ndarray:
    """Mean of the first (or last) ``n`` valid points of each row."""
    order = np.cumsum(mask[:, ::-1] if last else mask, axis=1)
    take = (order <= n) & (mask[:, ::-1] if last else mask)
    vals = y[:, ::-1] if last else y
    count = np.maximum(take.sum(axis=1), 1)
    return np.where(take, vals, 0.0).sum(axis=1) / count


def decay_guess(t: np.ndarray, y: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Starting baseline, contrast and tau of ``baseline + contrast*exp(-2t/tau)`` per row.

    Baseline: the mean of the last 3 points, clipped to [0.97, 1.03] (the curve may not
    have decayed); contrast: the mean of the first 3 points minus the baseline; tau:
    from the delay where g2 first crosses half its decay (interpolated in log t),
    ``tau = 2 t_half / ln 2``; ``t_max`` when it never crosses.
    """
    y = np.where(mask, y, np.nan)
    base = np.clip(_first_valid(np.nan_to_num(y), mask, 3, last=True), 0.97, 1.03)
    contrast = np.clip(_first_valid(np.nan_to_num(y), mask, 3) - base, 0.01, None)
    half = base + 0.5 * contrast
    below = mask & (y < half[:, None])
    n_t = t.size
    first = np.where(below.any(axis=1), np.argmax(below, axis=1), n_t)
    logt = np.log(t)
    t_half = np.empty(y.shape[0])
    for_default = first >= n_t
    t_half[for_default] = t[-1]
    idx = np.flatnonzero(~for_default)
    if idx.size:
        k = first[idx]
        # previous valid point above half (or the first point)
        prev = np.maximum(k - 1, 0)
        y1, y0 = y[idx, k], y[idx, prev]
        y0 = np.where(np.isfinite(y0), y0, half[idx] + 1e-12)
        frac = np.clip((y0 - half[idx]) / np.where(y0 > y1, y0 - y1, 1.0), 0.0, 1.0)
        t_half[idx] = np.exp(logt[prev] + frac * (logt[k] - logt[prev]))
    tau = 2.0 * t_half / math.log(2.0)
    return {"baseline": base, "contrast": contrast, "tau": tau}


def _guess_single(t: np.ndarray, y: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    return decay_guess(t, y, mask)


def _guess_stretched(t: np.ndarray, y: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    g = decay_guess(t, y, mask)
    g["beta"] = np.ones_like(g["tau"])
    return g


def _guess_double(t: np.ndarray, y: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    g = decay_guess(t, y, mask)
    tau = g.pop("tau")
    g["tau1"] = tau / 3.0
    g["tau2"] = tau * 3.0
    g["fraction"] = np.full_like(tau, 0.5)
    return g


SINGLE = G2Model(
    name="single",
    params=("baseline", "contrast", "tau"),
    fn=_single,
    jac=_single_jac,
    bounds=default_bounds,
    guess=_guess_single,
    priors=DEFAULT_PRIORS,
    log_scale=frozenset({"tau"}),
    description="baseline + contrast*exp(-2 t/tau)",
)
STRETCHED = G2Model(
    name="stretched",
    params=("baseline", "contrast", "tau", "beta"),
    fn=_stretched,
    jac=_stretched_jac,
    bounds=default_bounds,
    guess=_guess_stretched,
    priors=DEFAULT_PRIORS,
    log_scale=frozenset({"tau"}),
    description="baseline + contrast*exp(-2 (t/tau)^beta)",
)
DOUBLE = G2Model(
    name="double",
    params=("baseline", "contrast", "tau1", "tau2", "fraction"),
    fn=_double,
    jac=_double_jac,
    bounds=default_bounds,
    guess=_guess_double,
    priors=DEFAULT_PRIORS,
    log_scale=frozenset({"tau1", "tau2"}),
    ordered=(("tau1", "tau2"),),
    description="baseline + contrast*(fraction*exp(-t/tau1) + (1-fraction)*exp(-t/tau2))^2",
)

_REGISTRY: dict[str, G2Model] = {}


def register_model(model: G2Model, *, replace: bool = False) -> G2Model:
    """Add ``model`` to the registry under ``model.name`` (``replace`` to overwrite)."""
    if not isinstance(model, G2Model):
        raise XpcsInputError(f"register_model expects a G2Model, got {type(model).__name__}")
    if model.name in _REGISTRY and not replace:
        raise XpcsInputError(f"a g2 model named {model.name!r} is already registered")
    _REGISTRY[model.name] = model
    return model


def get_model(model: str | G2Model) -> G2Model:
    """The registered model of that name (a :class:`G2Model` is returned as is)."""
    if isinstance(model, G2Model):
        return model
    try:
        return _REGISTRY[str(model).lower()]
    except KeyError:
        raise XpcsInputError(
            f"unknown g2 model {model!r}; known models: {', '.join(sorted(_REGISTRY))}"
        ) from None


def list_models() -> list[str]:
    """Names of the registered models."""
    return sorted(_REGISTRY)


for _m in (SINGLE, STRETCHED, DOUBLE):
    register_model(_m)
